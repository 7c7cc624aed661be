package io.libk8sha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ElectionTest extends KubeLiteTest {



  /** One contender of three: its own context, as a JobManager in its own JVM would have. */
  static final class Contender implements AutoCloseable {
    final Context ctx;
    final Election election;
    final Recorder events;

    Contender(String clusterId, String identity) {
      try (Config cfg = server.config(clusterId)) {
        ctx = new Context(cfg);
      }
      events = new Recorder(identity);
      election = new Election(ctx, new Election.Options().identity(identity), events);
    }

    @Override
    public void close() {
      ctx.close();
    }
  }

  @Test
  void threeContendersOneLeaderThenACleanHandover() throws Exception {
    String cluster = KubeLite.newClusterId("elect");
    List<Contender> all = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        all.add(new Contender(cluster, "jm-" + i));
      }
      for (Contender c : all) {
        c.election.start();
      }
      Contender leader = awaitOneLeader(all);
      long term = leader.election.leadingTerm();
      assertTrue(leader.election.isLeader());
      assertEquals(leader.events.name, leader.election.identity());
      assertNotNull(leader.election.session());
      leader.election.publish("dispatcher", "akka://" + leader.events.name).join();
      // Every contender learns who leads.
      for (Contender c : all) {
        c.events.await(e -> e.equals("leader " + leader.events.name), BOUND);
      }
      // A clean stop: revoked at once, released; another takes over with a higher term.
      leader.election.stop().join();
      leader.events.await(e -> e.equals("revoked K8SHA_ECANCELED"), BOUND);
      List<Contender> rest = new ArrayList<>(all);
      rest.remove(leader);
      Contender next = awaitOneLeader(rest);
      long nextTerm = next.election.leadingTerm();
      assertTrue(nextTerm > term, "terms grow: " + nextTerm + " after " + term);
      // A follower cannot publish.
      Contender follower = rest.get(rest.get(0) == next ? 1 : 0);
      K8shaException refused = assertThrows(K8shaException.class,
          () -> follower.election.publish("dispatcher", "nope"));
      assertTrue(refused.isNotLeader(), refused.getMessage());
    } finally {
      for (Contender c : all) {
        c.close();
      }
    }
  }

  /** A C contender (the k8sha CLI) and Java contenders on one lock: kill -9 and take over. */
  @Test
  void javaAndCContendersShareOneLock() throws Exception {
    String cluster = KubeLite.newClusterId("mixed");
    String cli = System.getProperty("io.libk8sha.test.cli");
    org.junit.jupiter.api.Assumptions.assumeTrue(cli != null && !cli.isEmpty(),
        "io.libk8sha.test.cli (the k8sha command) is not set");
    // The C contender starts first and leads.
    Process c = new ProcessBuilder(cli, "elect", "--identity", "c-jm", "--address", "c://jm",
        "-D", "kubernetes.config.file=" + server.kubeconfig,
        "-D", "kubernetes.cluster-id=" + cluster, "-D", "kubernetes.namespace=flink",
        "-D", "high-availability.type=kubernetes",
        "-D", "high-availability.storageDir=" + server.storage.toUri(),
        "-D", "high-availability.kubernetes.leader-election.lease-duration=3 s",
        "-D", "high-availability.kubernetes.leader-election.renew-deadline=2 s",
        "-D", "high-availability.kubernetes.leader-election.retry-period=200 ms")
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(c.getInputStream(), StandardCharsets.UTF_8))) {
        for (String l; (l = r.readLine()) != null; ) {
          lines.add(l);
        }
      } catch (Exception e) {
        // (the process ended)
      }
    });
    reader.setDaemon(true);
    reader.start();
    List<Contender> java = new ArrayList<>();
    try {
      String first;
      do {
        first = lines.poll(BOUND.toSeconds(), TimeUnit.SECONDS);
        assertNotNull(first, "the C contender said nothing");
      } while (!first.startsWith("granted "));
      long cTerm = Long.parseLong(first.split(" ")[2]);
      for (int i = 0; i < 2; i++) {
        java.add(new Contender(cluster, "java-" + i));
        java.get(i).election.start();
      }
      for (Contender j : java) {
        j.events.await(e -> e.equals("leader c-jm"), BOUND);
        assertTrue(!j.election.isLeader());
      }
      c.destroyForcibly(); // kill -9: the lease runs out, a Java contender takes over
      c.waitFor();
      Contender next = awaitOneLeader(java);
      assertTrue(next.election.leadingTerm() > cTerm);
    } finally {
      c.destroyForcibly();
      for (Contender j : java) {
        j.close();
      }
    }
  }

  /** Waits until one of `cs` is granted; checks no other one is at that moment. */
  static Contender awaitOneLeader(List<Contender> cs) throws InterruptedException {
    long end = System.nanoTime() + BOUND.toNanos();
    while (System.nanoTime() < end) {
      for (Contender c : cs) {
        if (c.election.awaitLeadership(Duration.ofMillis(50))) {
          int leaders = 0;
          for (Contender o : cs) {
            leaders += o.election.isLeader() ? 1 : 0;
          }
          assertEquals(1, leaders, "exactly one leader");
          return c;
        }
      }
    }
    throw new AssertionError("nobody was granted leadership within " + BOUND);
  }

  @Test
  void stopBeforeStartIsRefusedWithoutSideEffects() throws Exception {
    try (Config cfg = server.config(KubeLite.newClusterId("idle"));
         Context ctx = new Context(cfg)) {
      Election e = new Election(ctx, null, null);
      // A call that cannot start throws at once (the C call returned an error: nothing done).
      K8shaException k = assertThrows(K8shaException.class, e::stop);
      assertEquals(K8shaException.EBUSY, k.code(), k.getMessage());
      e.start();
      assertThrows(K8shaException.class, e::start); // started already: EBUSY again
    }
  }
}
