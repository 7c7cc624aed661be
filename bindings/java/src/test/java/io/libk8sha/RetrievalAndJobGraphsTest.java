package io.libk8sha;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RetrievalAndJobGraphsTest extends KubeLiteTest {
  static final String JOB_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  static final String JOB_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";



  /** Waits for the next report matching `address` (null: no leader); returns its session. */
  static String awaitReport(BlockingQueue<String[]> q, String address) throws Exception {
    long end = System.nanoTime() + BOUND.toNanos();
    for (;;) {
      String[] r = q.poll(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (r == null) {
        throw new AssertionError("no report of " + address + " within " + BOUND);
      }
      if (address == null ? r[0] == null : address.equals(r[0])) {
        return r[1];
      }
    }
  }

  @Test
  void aRetrieverFollowsThePublishedAddressAcrossAHandover() throws Exception {
    String cluster = KubeLite.newClusterId("retrieve");
    try (Config c1 = server.config(cluster); Context a = new Context(c1);
         Config c2 = server.config(cluster); Context b = new Context(c2);
         Config c3 = server.config(cluster); Context watcher = new Context(c3)) {
      BlockingQueue<String[]> reports = new LinkedBlockingQueue<>();
      Retriever r = new Retriever(watcher, "dispatcher",
          (address, session) -> reports.add(new String[] {address, session}));
      awaitReport(reports, null); // the lock was read: nobody leads yet
      Election ea = new Election(a, new Election.Options().identity("a"), null);
      ea.start();
      assertTrue(ea.awaitLeadership(BOUND));
      ea.publish("dispatcher", "http://a:8081").join();
      assertEquals(ea.session(), awaitReport(reports, "http://a:8081"));
      ea.unpublish("dispatcher").join(); // taken back: retrievers see no leader address
      awaitReport(reports, null);
      ea.publish("dispatcher", "http://a:8081").join();
      awaitReport(reports, "http://a:8081");
      Election eb = new Election(b, new Election.Options().identity("b"), null);
      eb.start();
      ea.stop().join(); // releasing removes what a published
      awaitReport(reports, null);
      assertTrue(eb.awaitLeadership(BOUND));
      eb.publish("dispatcher", "http://b:8081").join();
      assertEquals(eb.session(), awaitReport(reports, "http://b:8081"));
      r.close();
      r.close();
    }
  }

  @Test
  void jobGraphsPutGetRemoveAndFenced() throws Exception {
    String cluster = KubeLite.newClusterId("graphs");
    byte[] ga = "graph of a".getBytes(StandardCharsets.UTF_8);
    byte[] gb = "graph of b".getBytes(StandardCharsets.UTF_8);
    try (Config c1 = server.config(cluster); Context a = new Context(c1);
         Config c2 = server.config(cluster); Context b = new Context(c2)) {
      Election ea = new Election(a, new Election.Options().identity("a"), null);
      ea.start();
      assertTrue(ea.awaitLeadership(BOUND));
      JobGraphStore s = JobGraphStore.open(ea).join();
      s.put(JOB_B, gb).join();
      s.put(JOB_A, ga).join();
      s.put(JOB_A, ga).join(); // identical: success without a write
      assertEquals(List.of(JOB_A, JOB_B), s.jobIds());
      assertArrayEquals(ga, s.get(JOB_A).join());
      s.remove(JOB_B).join();
      s.remove(JOB_B).join(); // absent: success
      K8shaException none = (K8shaException) assertThrows(CompletionException.class,
          () -> s.get(JOB_B).join()).getCause();
      assertEquals(K8shaException.ENOTFOUND, none.code(), none.getMessage());
      // a hands over to b; a's store is fenced, b sees a's graph
      Election eb = new Election(b, new Election.Options().identity("b"), null);
      eb.start();
      ea.stop().join();
      assertTrue(eb.awaitLeadership(BOUND));
      try (JobGraphStore sb = JobGraphStore.open(eb).join()) {
        assertArrayEquals(ga, sb.get(JOB_A).join());
        K8shaException fenced = (K8shaException) assertThrows(CompletionException.class,
            () -> s.put(JOB_B, gb).join()).getCause();
        assertTrue(fenced.isNotLeader(), fenced.getMessage());
      }
      s.close();
      assertThrows(IllegalStateException.class, s::jobIds);
    }
  }

  @Test
  void applicationsBesideJobGraphs() throws Exception {
    String cluster = KubeLite.newClusterId("apps");
    byte[] plan = "plan of a".getBytes(StandardCharsets.UTF_8);
    byte[] app = "application a".getBytes(StandardCharsets.UTF_8);
    try (Config c1 = server.config(cluster); Context a = new Context(c1)) {
      Election ea = new Election(a, new Election.Options().identity("a"), null);
      ea.start();
      assertTrue(ea.awaitLeadership(BOUND));
      try (JobGraphStore jobs = JobGraphStore.open(ea, JobGraphStore.Kind.JOBS).join();
           JobGraphStore apps = JobGraphStore.open(ea, JobGraphStore.Kind.APPLICATIONS).join()) {
        jobs.put(JOB_A, plan).join();
        apps.put(JOB_B, app).join();
        assertEquals(List.of(JOB_A), jobs.jobIds());
        assertEquals(List.of(JOB_B), apps.jobIds());
        assertArrayEquals(app, apps.get(JOB_B).join());
        K8shaException none = (K8shaException) assertThrows(CompletionException.class,
            () -> apps.get(JOB_A).join()).getCause();
        assertEquals(K8shaException.ENOTFOUND, none.code(), none.getMessage());
        apps.remove(JOB_B).join();
        assertEquals(List.of(), apps.jobIds());
        assertArrayEquals(plan, jobs.get(JOB_A).join());
      }
    }
  }
}
