// A leader in about 40 lines: contend, publish an address, recover the newest checkpoint,
// commit a few more, hand over. Run: java -cp libk8sha.jar Leader.java CONFIG_FILE IDENTITY
import io.libk8sha.CheckpointStore;
import io.libk8sha.Config;
import io.libk8sha.Context;
import io.libk8sha.Election;
import io.libk8sha.ElectionListener;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

public class Leader {
  static final String JOB = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5";

  public static void main(String[] args) throws Exception {
    try (Config cfg = new Config().loadFile(Path.of(args[0])).validate().resolveKube();
         Context ctx = new Context(cfg)) {
      Election election = new Election(ctx, new Election.Options().identity(args[1]),
          new ElectionListener() {
            @Override
            public void revoked(int reason) {
              System.out.println("revoked");
            }
          });
      election.start();
      if (!election.awaitLeadership(Duration.ofMinutes(2))) {
        throw new IllegalStateException("not elected within 2 minutes");
      }
      System.out.println("leading in term " + election.leadingTerm());
      election.publish("dispatcher", "pekko.tcp://flink@" + args[1] + ":6123").join();
      try (CheckpointStore store = CheckpointStore.open(election, JOB).join()) {
        store.recoverLatest().join().ifPresentOrElse(
            cp -> System.out.println("recovered checkpoint " + cp.id() + ": "
                + new String(cp.state(), StandardCharsets.UTF_8)),
            () -> System.out.println("no checkpoint to recover"));
        for (int i = 0; i < 3; i++) {
          byte[] state = ("state written by " + args[1]).getBytes(StandardCharsets.UTF_8);
          System.out.println("committed checkpoint " + store.commit(state).join());
        }
      }
      election.stop().join(); // the next contender takes over at once
      System.out.println("handed over");
    }
  }
}
