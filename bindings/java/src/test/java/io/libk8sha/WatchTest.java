package io.libk8sha;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class WatchTest extends KubeLiteTest {



  static WatchEvent await(BlockingQueue<WatchEvent> q, Predicate<WatchEvent> match)
      throws InterruptedException {
    long end = System.nanoTime() + BOUND.toNanos();
    for (;;) {
      WatchEvent e = q.poll(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
      assertNotNull(e, "no matching watch event within " + BOUND);
      if (match.test(e)) {
        return e;
      }
    }
  }

  @Test
  void theClustersConfigMapsAsTheyChange() throws Exception {
    String cluster = KubeLite.newClusterId("watch");
    String job = "1234567890abcdef1234567890abcdef";
    try (Config cfg = server.config(cluster); Context ctx = new Context(cfg)) {
      BlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
      Watch w = new Watch(ctx, events::add);
      await(events, e -> e.type() == WatchEvent.Type.SYNCED);
      Election e = new Election(ctx, null, null);
      e.start();
      assertTrue(e.awaitLeadership(BOUND));
      WatchEvent lock = await(events, x -> (cluster + "-cluster-config-map").equals(x.name()));
      assertTrue(lock.objectJson().contains("control-plane.alpha.kubernetes.io/leader"));
      try (CheckpointStore s = CheckpointStore.open(e, job).join()) {
        s.add(1, new byte[] {1}).join();
        WatchEvent cm = await(events, x -> (cluster + "-" + job + "-config-map").equals(x.name())
            && x.objectJson().contains("checkpointID-0000000000000000001"));
        assertNotNull(cm.resourceVersion());
      }
      w.close();
      w.close();
    }
  }
}
