package io.libk8sha;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The completed-checkpoint store and checkpoint id counter of one job, as Flink keeps them, for
 * one leadership of an election: open it when leading, close it when the leadership ends (its
 * writes are refused with {@link K8shaException#ENOTLEADER} from then on anyway).
 *
 * <p>Every write completes with exactly one of: success; a definite failure (nothing committed);
 * or {@link K8shaException#isUnknownOutcome()} (it may have landed: recover before deciding).
 * Operations reach the job's ConfigMap in the order they were started, except that two adds in
 * flight at once may commit in either order: start the next add when the previous one completed.
 * Closing the store fails what is still pending with {@link K8shaException#ECANCELED}.
 */
public final class CheckpointStore implements AutoCloseable {
  // (the shim's operation numbers)
  private static final int OP_ADD = 1;
  private static final int OP_ADD_POINTER = 2;
  private static final int OP_RECOVER = 3;
  private static final int OP_RECOVER_LATEST = 4;
  private static final int OP_COMMIT = 5;
  private static final int OP_COUNTER_GET = 6;
  private static final int OP_COUNTER_NEXT = 7;
  private static final int OP_COUNTER_SET = 8;
  private static final int OP_SHUTDOWN = 9;

  private final Context ctx;
  private long handle;

  private CheckpointStore(Context ctx, long handle) {
    this.ctx = ctx;
    this.handle = handle;
  }

  /**
   * Opens the store of {@code jobId} (32 lowercase hex digits) for the current leadership of
   * {@code election}, claiming the job's ConfigMap (creating it when missing). The future fails
   * with {@link K8shaException#ENOTLEADER} when not leading or when a newer leader claimed it.
   */
  public static CompletableFuture<CheckpointStore> open(Election election, String jobId) {
    CompletableFuture<Object> opened = new CompletableFuture<>();
    Context ctx = election.context();
    CheckpointStore store;
    synchronized (election) {
      store = new CheckpointStore(ctx, Native.storeOpen(election.handle(), jobId, opened));
    }
    ctx.adopt(store);
    return opened.handle((x, failure) -> {
      if (failure != null) {
        store.close(); // on error the store can only be freed
        throw failure instanceof RuntimeException ? (RuntimeException) failure
            : new RuntimeException(failure);
      }
      return store;
    });
  }

  private synchronized long h() {
    if (handle == 0) {
      throw new IllegalStateException("the checkpoint store is closed");
    }
    return handle;
  }

  private synchronized CompletableFuture<Object> call(int op, long n, byte[] bytes) {
    CompletableFuture<Object> done = new CompletableFuture<>();
    Native.storeCall(h(), op, n, bytes, done);
    return done;
  }

  /**
   * Writes {@code state} to a new blob, then adds checkpoint {@code id} pointing to it, removing
   * the oldest checkpoints beyond {@code execution.checkpointing.num-retained}.
   */
  public CompletableFuture<Void> add(long id, byte[] state) {
    return call(OP_ADD, id, state).thenApply(x -> null);
  }

  /**
   * Writes {@code state} to a new blob, then adds checkpoint {@code id} pointing to it and
   * retires exactly the checkpoints listed in {@code retire}, in the same one update, instead of
   * the oldest beyond num-retained: for a caller that decides retention itself, as Flink's
   * subsumption does. Ids the store does not hold are skipped; {@code id} itself in the list
   * fails with {@link K8shaException#EINVAL}.
   */
  public CompletableFuture<Void> add(long id, byte[] state, long[] retire) {
    return addRetiring(id, state, false, retire);
  }

  /**
   * Adds checkpoint {@code id} as pointer bytes the caller encoded itself (Flink's own state
   * handle, for instance), retiring exactly the checkpoints listed in {@code retire}, in one
   * update (see {@link #add(long, byte[], long[])}).
   */
  public CompletableFuture<Void> addPointer(long id, byte[] pointer, long[] retire) {
    return addRetiring(id, pointer, true, retire);
  }

  private CompletableFuture<Void> addRetiring(long id, byte[] bytes, boolean pointer,
      long[] retire) {
    CompletableFuture<Object> done = new CompletableFuture<>();
    synchronized (this) {
      Native.storeAddRetiring(h(), id, bytes, pointer, retire.clone(), done);
    }
    return done.thenApply(x -> null);
  }

  /** Adds checkpoint {@code id} as pointer bytes the host encoded itself (no blob is written). */
  public CompletableFuture<Void> addPointer(long id, byte[] pointer) {
    return call(OP_ADD_POINTER, id, pointer).thenApply(x -> null);
  }

  /** Every retained checkpoint in ascending id order, each read and verified. */
  public CompletableFuture<List<Checkpoint>> recover() {
    return call(OP_RECOVER, 0, null).thenApply(x -> List.of((Checkpoint[]) x));
  }

  /** The newest intact checkpoint, if any (newer unusable ones are logged by the library). */
  public CompletableFuture<Optional<Checkpoint>> recoverLatest() {
    return call(OP_RECOVER_LATEST, 0, null).thenApply(x -> Optional.ofNullable((Checkpoint) x));
  }

  /** Takes the next id from the counter and adds {@code state} under it; completes with the id. */
  public CompletableFuture<Long> commit(byte[] state) {
    return call(OP_COMMIT, 0, state).thenApply(x -> (Long) x);
  }

  /** The next checkpoint id (1 when never set). */
  public CompletableFuture<Long> counter() {
    return call(OP_COUNTER_GET, 0, null).thenApply(x -> (Long) x);
  }

  /** Returns the next id and stores it plus one, in one fenced update. */
  public CompletableFuture<Long> counterGetAndIncrement() {
    return call(OP_COUNTER_NEXT, 0, null).thenApply(x -> (Long) x);
  }

  /** Sets the next id (at least 1). */
  public CompletableFuture<Void> counterSet(long nextId) {
    return call(OP_COUNTER_SET, nextId, null).thenApply(x -> null);
  }

  /** Shuts the store down: keeps everything, or removes the job's checkpoints and counter. */
  public CompletableFuture<Void> shutdown(JobStatus status) {
    return call(OP_SHUTDOWN, status == JobStatus.GLOBALLY_TERMINAL ? 1 : 0, null)
        .thenApply(x -> null);
  }

  /** The job's ConfigMap name. */
  public synchronized String configMapName() {
    return Native.storeConfigMap(h());
  }

  /** Frees the store; idempotent. Pending operations fail with ECANCELED. */
  @Override
  public void close() {
    synchronized (this) {
      if (handle == 0) {
        return;
      }
      Native.storeFree(handle);
      handle = 0;
    }
    ctx.release(this);
  }

  @Override
  public String toString() {
    return "CheckpointStore";
  }
}
