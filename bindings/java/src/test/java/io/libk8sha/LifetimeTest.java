package io.libk8sha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Use after close, close from a listener, exceptions in listeners, and the shim's references. */
class LifetimeTest extends KubeLiteTest {
  static final String JOB = "0123456789abcdef0123456789abcdef";



  @Test
  void everythingUsedAfterCloseThrowsAndCloseIsIdempotent() throws Exception {
    Config cfg = server.config(KubeLite.newClusterId("closed"));
    Context ctx = new Context(cfg);
    cfg.close();
    cfg.close();
    assertThrows(IllegalStateException.class, () -> cfg.set("a", "b"));
    Election e = new Election(ctx, null, null);
    e.start();
    assertTrue(e.awaitLeadership(BOUND));
    CheckpointStore s = CheckpointStore.open(e, JOB).join();
    s.close();
    s.close();
    IllegalStateException x = assertThrows(IllegalStateException.class, () -> s.add(1, new byte[1]));
    assertTrue(x.getMessage().contains("closed"), x.getMessage());
    e.close();
    e.close();
    assertThrows(IllegalStateException.class, e::isLeader);
    ctx.close();
    ctx.close();
    assertThrows(IllegalStateException.class, () -> new Election(ctx, null, null));
  }

  @Test
  void closingTheContextClosesWhatIsStillOpen() throws Exception {
    long refs = Native.globalRefs();
    Election e;
    CheckpointStore s;
    try (Config cfg = server.config(KubeLite.newClusterId("children"));
         Context ctx = new Context(cfg)) {
      e = new Election(ctx, null, null);
      e.start();
      assertTrue(e.awaitLeadership(BOUND));
      s = CheckpointStore.open(e, JOB).join();
    }
    assertThrows(IllegalStateException.class, e::isLeader);
    assertThrows(IllegalStateException.class, s::counter);
    assertEquals(refs, Native.globalRefs(), "every global reference of the shim is released");
  }

  /**
   * Listeners run with the context creator's class loader (a framework that loads classes by
   * name from its listener, or from threads the listener starts, finds the application's).
   */
  @Test
  void listenersRunWithTheCreatorsClassLoader() throws Exception {
    try (Config cfg = server.config(KubeLite.newClusterId("loader"));
         Context ctx = new Context(cfg)) {
      java.util.concurrent.CompletableFuture<ClassLoader> seen =
          new java.util.concurrent.CompletableFuture<>();
      Election e = new Election(ctx, null, new ElectionListener() {
        @Override
        public void granted(String session, long term) {
          // (a thread started from here inherits the listener thread's loader)
          Thread t = new Thread(() -> seen.complete(Thread.currentThread()
              .getContextClassLoader()));
          t.start();
        }
      });
      e.start();
      ClassLoader loader = seen.get(BOUND.toSeconds(), TimeUnit.SECONDS);
      assertEquals(Thread.currentThread().getContextClassLoader(), loader);
      assertEquals(LifetimeTest.class, Class.forName(LifetimeTest.class.getName(), false, loader));
      e.close();
    }
  }

  /** The library's log lines reach the context's sink, up to the level asked for. */
  @Test
  void logLinesReachTheSink() throws Exception {
    java.util.concurrent.LinkedBlockingQueue<String> lines =
        new java.util.concurrent.LinkedBlockingQueue<>();
    try (Config cfg = server.config(KubeLite.newClusterId("log"));
         Context ctx = new Context(cfg, (level, module, message) ->
             lines.add(level + " " + module + ": " + message), LogSink.Level.INFO)) {
      Election e = new Election(ctx, new Election.Options().identity("logged"), null);
      e.start();
      assertTrue(e.awaitLeadership(BOUND));
      String line;
      do {
        line = lines.poll(BOUND.toSeconds(), TimeUnit.SECONDS);
        assertTrue(line != null, "no log line says the contender leads");
        assertTrue(!line.startsWith("DEBUG"), "a line above INFO: " + line);
      } while (!line.startsWith("INFO election: logged: leading"));
      e.close();
    }
  }

  @Test
  void aListenerMayCloseItsElection() throws Exception {
    try (Config cfg = server.config(KubeLite.newClusterId("self-close"));
         Context ctx = new Context(cfg)) {
      CountDownLatch closed = new CountDownLatch(1);
      Election[] self = new Election[1];
      self[0] = new Election(ctx, null, new ElectionListener() {
        @Override
        public void granted(String session, long term) {
          self[0].close();
          closed.countDown();
        }
      });
      self[0].start();
      assertTrue(closed.await(BOUND.toSeconds(), TimeUnit.SECONDS));
      assertThrows(IllegalStateException.class, self[0]::isLeader);
    }
  }

  @Test
  void anExceptionInAListenerDoesNotStopLaterEvents() throws Exception {
    try (Config cfg = server.config(KubeLite.newClusterId("throwing"));
         Context ctx = new Context(cfg)) {
      CountDownLatch revoked = new CountDownLatch(1);
      Election e = new Election(ctx, null, new ElectionListener() {
        @Override
        public void granted(String session, long term) {
          throw new IllegalStateException("a listener that throws (expected in this test)");
        }

        @Override
        public void revoked(int reason) {
          revoked.countDown();
        }
      });
      e.start();
      assertTrue(e.awaitLeadership(BOUND));
      e.stop().join();
      assertTrue(revoked.await(BOUND.toSeconds(), TimeUnit.SECONDS));
    }
  }

  @Test
  void closingAStoreFailsWhatIsPendingAndReleasesItsReferences() throws Exception {
    long refs = Native.globalRefs();
    // (every add is kept: adds in flight at once may commit in any order)
    try (Config cfg = server.config(KubeLite.newClusterId("pending"),
             "execution.checkpointing.num-retained", "100");
         Context ctx = new Context(cfg)) {
      Election e = new Election(ctx, null, null);
      e.start();
      assertTrue(e.awaitLeadership(BOUND));
      CheckpointStore s = CheckpointStore.open(e, JOB).join();
      CompletableFuture<?>[] pending = new CompletableFuture<?>[20];
      for (int i = 0; i < pending.length; i++) {
        pending[i] = s.add(i + 1, new byte[] {(byte) i});
      }
      s.close();
      int cancelled = 0;
      for (CompletableFuture<?> f : pending) {
        try {
          f.join(); // each completes: committed before the close, or cancelled by it
        } catch (CompletionException x) {
          K8shaException k = (K8shaException) x.getCause();
          assertEquals(K8shaException.ECANCELED, k.code(), k.getMessage());
          cancelled++;
        }
      }
      assertTrue(cancelled > 0, "20 adds in flight cannot all have finished before the close");
      e.close();
    }
    assertEquals(refs, Native.globalRefs(), "every global reference of the shim is released");
  }
}
