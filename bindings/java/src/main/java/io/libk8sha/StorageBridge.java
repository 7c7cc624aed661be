package io.libk8sha;

import java.util.concurrent.ExecutorService;

/** Runs a Java storage backend's calls (made on the loop thread) on the context's storage pool. */
final class StorageBridge {
  private final StorageBackend backend;
  private final ExecutorService pool;

  StorageBridge(StorageBackend backend, ExecutorService pool) {
    this.backend = backend;
    this.pool = pool;
  }

  /** Called by the shim on the loop thread; returns at once. */
  void call(int kind, String uri, byte[] data, long opHandle) {
    StorageOp op = new StorageOp(opHandle);
    pool.execute(() -> {
      try {
        switch (kind) {
          case 0:
            backend.writeNew(uri, data, op);
            break;
          case 1:
            backend.read(uri, op);
            break;
          case 2:
            backend.remove(uri, op);
            break;
          default:
            backend.list(uri, op);
            break;
        }
      } catch (Throwable t) {
        if (!op.isDone()) {
          try {
            op.fail(StorageOp.ESTORAGE, "storage backend " + backend.scheme() + " failed on "
                + uri + ": " + t);
          } catch (IllegalStateException raced) {
            // (completed by another thread meanwhile)
          }
        } else {
          Context.report("the storage backend " + backend.scheme(), t);
        }
      }
    });
  }
}
