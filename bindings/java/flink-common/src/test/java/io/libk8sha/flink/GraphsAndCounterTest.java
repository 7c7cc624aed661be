package io.libk8sha.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.libk8sha.CheckpointStore;
import io.libk8sha.Config;
import io.libk8sha.Context;
import io.libk8sha.Election;
import io.libk8sha.K8shaException;
import io.libk8sha.KubeLite;
import io.libk8sha.KubeLiteTest;
import java.util.List;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.junit.jupiter.api.Test;

/**
 * Flink's job graph store (1.x) or execution plan store (2.x) and CheckpointIDCounter on
 * libk8sha, with Flink's own classes ({@link FlinkLine#VERSION}).
 */
class GraphsAndCounterTest extends KubeLiteTest {
  @Test
  void jobGraphsPutRecoverListAndCleanUpFenced() throws Exception {
    String cluster = KubeLite.newClusterId("flink-graphs");
    JobID a = JobID.generate();
    JobID b = JobID.generate();
    try (Config c1 = server.config(cluster); Context jm1 = new Context(c1);
         Config c2 = server.config(cluster); Context jm2 = new Context(c2)) {
      Election e1 = new Election(jm1, new Election.Options().identity("jm-1"), null);
      e1.start();
      assertTrue(e1.awaitLeadership(BOUND));
      Graphs s1 = FlinkLine.graphs(e1);
      s1.put(a, "job a");
      s1.put(b, "job b");
      assertEquals("job a", s1.name(a));
      assertEquals(2, s1.ids().size());
      // an entry that is not a JobGraph: a clear error naming the job, not a ClassCastException
      try (io.libk8sha.JobGraphStore raw = io.libk8sha.JobGraphStore.open(e1).join()) {
        raw.put(b.toHexString(), org.apache.flink.util.InstantiationUtil.serializeObject("x"))
            .join();
      }
      java.io.IOException notAGraph = assertThrows(java.io.IOException.class,
          () -> s1.name(b));
      assertTrue(notAGraph.getMessage().contains(b.toString()), notAGraph.getMessage());
      s1.remove(b);
      assertNull(s1.name(b));
      assertEquals(List.of(a), List.copyOf(s1.ids()));

      // jm-1 hands over: jm-2 recovers the graph; jm-1's store can no longer write
      Election e2 = new Election(jm2, new Election.Options().identity("jm-2"), null);
      e2.start();
      e1.stop().join();
      assertTrue(e2.awaitLeadership(BOUND));
      Graphs s2 = FlinkLine.graphs(e2);
      assertEquals("job a", s2.name(a));
      K8shaException fenced = assertThrows(K8shaException.class,
          () -> s1.put(b, "late write"));
      assertTrue(fenced.isNotLeader(), fenced.getMessage());
      s1.stop();
      s2.stop();
    }
  }

  @Test
  void theCheckpointCounterIsTheStoresCounter() throws Exception {
    String cluster = KubeLite.newClusterId("flink-counter");
    String job = JobID.generate().toHexString();
    try (Config cfg = server.config(cluster); Context ctx = new Context(cfg)) {
      Election e = new Election(ctx, null, null);
      e.start();
      assertTrue(e.awaitLeadership(BOUND));
      try (CheckpointStore store = CheckpointStore.open(e, job).join()) {
        CheckpointIDCounter counter = new K8shaCheckpointIDCounter(store);
        counter.start();
        assertEquals(CheckpointIDCounter.INITIAL_CHECKPOINT_ID, counter.get());
        assertEquals(1L, counter.getAndIncrement());
        assertEquals(2L, counter.getAndIncrement());
        assertEquals(3L, counter.get());
        counter.setCount(10);
        assertEquals(10L, counter.getAndIncrement());
        assertEquals(11L, store.counter().join());
        counter.shutdown(org.apache.flink.api.common.JobStatus.SUSPENDED).join();
      }
    }
  }
}
