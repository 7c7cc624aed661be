// Benchmark (not a test): the loop of tests/bench/commit_bench.c through the Java binding:
// contend, open a job's store, commit N checkpoints of 512 bytes one after the other (each
// waited for with join()). Prints p50/p99 commit latency and the JVM's CPU time per commit
// (the process's, measured around the commit loop only).
//   java -cp libk8sha-0.1.0.jar CommitBench.java CONFIG_FILE COMMITS
import io.libk8sha.CheckpointStore;
import io.libk8sha.Config;
import io.libk8sha.Context;
import io.libk8sha.Election;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

public class CommitBench {
  static final String JOB = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf";

  public static void main(String[] args) throws Exception {
    int n = Integer.parseInt(args[1]);
    byte[] state = new byte[512];
    Arrays.fill(state, (byte) 'x');
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    try (Config cfg = new Config().loadFile(Path.of(args[0])).validate().resolveKube();
         Context ctx = new Context(cfg)) {
      Election e = new Election(ctx, null, null);
      e.start();
      if (!e.awaitLeadership(Duration.ofMinutes(1))) {
        throw new IllegalStateException("not elected");
      }
      try (CheckpointStore store = CheckpointStore.open(e, JOB).join()) {
        for (int i = 0; i < Math.min(50, n); i++) {
          store.commit(state).join(); // warm-up: class loading and the JIT, not measured
        }
        double[] lat = new double[n];
        long cpu0 = os.getProcessCpuTime();
        for (int i = 0; i < n; i++) {
          long t0 = System.nanoTime();
          store.commit(state).join();
          lat[i] = (System.nanoTime() - t0) / 1e6;
        }
        long cpu = os.getProcessCpuTime() - cpu0;
        Arrays.sort(lat);
        System.out.printf("Java: %d commits, p50 %.2f ms, p99 %.2f ms, CPU %.0f us per commit%n",
            n, lat[n / 2], lat[(n * 99) / 100], cpu / 1e3 / n);
      }
      e.stop().join();
    }
  }
}
