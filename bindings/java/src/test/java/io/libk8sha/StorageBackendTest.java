package io.libk8sha;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Blobs in a storage backend written in Java, completing on threads of its own. */
class StorageBackendTest extends KubeLiteTest {
  static final String JOB = "feedfacefeedfacefeedfacefeedface";



  /** An in-memory backend for scheme "mem" that completes every operation on its own thread. */
  static final class MemoryBackend implements StorageBackend {
    final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    final ExecutorService completer = Executors.newSingleThreadExecutor();
    final AtomicBoolean failWrites = new AtomicBoolean();
    final AtomicBoolean calledOnLoopThread = new AtomicBoolean();

    private void check() {
      if (Thread.currentThread().getName().startsWith("k8sha-loop")) {
        calledOnLoopThread.set(true);
      }
    }

    @Override
    public String scheme() {
      return "mem";
    }

    @Override
    public void writeNew(String uri, byte[] data, StorageOp op) {
      check();
      completer.execute(() -> {
        if (failWrites.get()) {
          op.fail(StorageOp.ESTORAGE, "mem: " + uri + ": the device is full (test)");
        } else if (blobs.putIfAbsent(uri, data.clone()) != null) {
          op.fail(K8shaException.EEXISTS, "mem: " + uri + " exists");
        } else {
          op.complete();
        }
      });
    }

    @Override
    public void read(String uri, StorageOp op) {
      check();
      completer.execute(() -> {
        byte[] b = blobs.get(uri);
        if (b == null) {
          op.fail(K8shaException.ENOTFOUND, "mem: " + uri + " does not exist");
        } else {
          op.complete(b);
        }
      });
    }

    @Override
    public void remove(String uri, StorageOp op) {
      check();
      blobs.remove(uri);
      op.complete(); // (this one on the calling thread)
    }

    @Override
    public void list(String prefix, StorageOp op) {
      check();
      blobs.keySet().stream().filter(k -> k.startsWith(prefix)).forEach(op::addEntry);
      op.complete();
    }
  }

  @Test
  void checkpointsAndGraphsInAJavaBackend() throws Exception {
    MemoryBackend mem = new MemoryBackend();
    long refs = Native.globalRefs();
    try (Config cfg = new Config()) {
      cfg.set("kubernetes.config.file", server.kubeconfig.toString())
          .set("kubernetes.cluster-id", KubeLite.newClusterId("mem"))
          .set("kubernetes.namespace", "flink")
          .set("high-availability.type", "kubernetes")
          .set("high-availability.storageDir", "mem://bucket/ha")
          .set("execution.checkpointing.num-retained", "1");
      assertThrows(ConfigException.class, cfg::validate); // an unknown scheme is refused ...
      cfg.addStorageScheme("mem").validate().resolveKube(); // ... unless allowed
      try (Context ctx = new Context(cfg)) {
        ctx.registerStorage(mem);
        Election e = new Election(ctx, null, null);
        e.start();
        assertTrue(e.awaitLeadership(BOUND));
        CheckpointStore s = CheckpointStore.open(e, JOB).join();
        s.add(1, "one".getBytes(StandardCharsets.UTF_8)).join();
        s.add(2, "two".getBytes(StandardCharsets.UTF_8)).join();
        // retention 1: checkpoint 1's blob was deleted through the backend
        assertEquals(1, mem.blobs.size(), mem.blobs.keySet().toString());
        String uri = mem.blobs.keySet().iterator().next();
        assertTrue(uri.startsWith("mem://bucket/ha/"), uri);
        List<Checkpoint> list = s.recover().join();
        assertEquals(1, list.size());
        assertArrayEquals("two".getBytes(StandardCharsets.UTF_8), list.get(0).state());
        // a failing write: a definite failure, nothing committed
        mem.failWrites.set(true);
        K8shaException full = (K8shaException) assertThrows(CompletionException.class,
            () -> s.add(3, "three".getBytes(StandardCharsets.UTF_8)).join()).getCause();
        assertFalse(full.isUnknownOutcome());
        assertTrue(full.getMessage().contains("device is full"), full.getMessage());
        mem.failWrites.set(false);
        assertEquals(2L, s.recoverLatest().join().orElseThrow().id());
        // a lost blob is reported by id
        mem.blobs.clear();
        Checkpoint lost = s.recover().join().get(0);
        assertEquals(K8shaException.ENOTFOUND, lost.failure().code(), lost.failure().getMessage());
        try (JobGraphStore g = JobGraphStore.open(e).join()) {
          g.put(JOB, "graph".getBytes(StandardCharsets.UTF_8)).join();
          assertArrayEquals("graph".getBytes(StandardCharsets.UTF_8), g.get(JOB).join());
        }
        s.close();
      }
    }
    assertFalse(mem.calledOnLoopThread.get(), "a backend method ran on the loop thread");
    assertEquals(refs, Native.globalRefs(), "the backend's reference is released with the context");
    mem.completer.shutdown();
  }

  @Test
  void aBackendThatThrowsFailsTheOperation() throws Exception {
    StorageBackend broken = new StorageBackend() {
      @Override
      public String scheme() {
        return "broken";
      }

      @Override
      public void writeNew(String uri, byte[] data, StorageOp op) {
        throw new IllegalStateException("not today");
      }

      @Override
      public void read(String uri, StorageOp op) {
        throw new IllegalStateException("not today");
      }

      @Override
      public void remove(String uri, StorageOp op) {
        op.complete();
      }

      @Override
      public void list(String prefix, StorageOp op) {
        op.complete();
      }
    };
    try (Config cfg = new Config()) {
      cfg.set("kubernetes.config.file", server.kubeconfig.toString())
          .set("kubernetes.cluster-id", KubeLite.newClusterId("broken"))
          .set("kubernetes.namespace", "flink")
          .set("high-availability.type", "kubernetes")
          .set("high-availability.storageDir", "broken://x/ha")
          .addStorageScheme("broken").validate().resolveKube();
      try (Context ctx = new Context(cfg)) {
        ctx.registerStorage(broken);
        Election e = new Election(ctx, null, null);
        e.start();
        assertTrue(e.awaitLeadership(BOUND));
        try (CheckpointStore s = CheckpointStore.open(e, JOB).join()) {
          K8shaException x = (K8shaException) assertThrows(CompletionException.class,
              () -> s.add(1, new byte[] {1}).join()).getCause();
          assertTrue(x.getMessage().contains("not today"), x.getMessage());
          assertTrue(s.recover().join().isEmpty());
        }
      }
    }
  }
}
