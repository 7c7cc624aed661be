package io.libk8sha;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The job graphs of a cluster (Flink keeps them in the cluster's lock ConfigMap, one key per job,
 * each pointing to a blob), for one leadership of an election. Operations complete as the
 * {@link CheckpointStore}'s do; closing fails what is pending with
 * {@link K8shaException#ECANCELED}.
 */
public final class JobGraphStore implements AutoCloseable {
  private static final int OP_PUT = 1;
  private static final int OP_GET = 2;
  private static final int OP_REMOVE = 3;
  private static final int OP_PUT_POINTER = 4;

  private final Context ctx;
  private long handle;

  private JobGraphStore(Context ctx, long handle) {
    this.ctx = ctx;
    this.handle = handle;
  }

  /** What a store holds in the cluster ConfigMap. */
  public enum Kind {
    /**
     * Job graphs: Flink 1.x's {@code jobGraph-<id>}, or Flink 2.x's execution plans
     * ({@code executionPlan-<id>}) with {@code libk8sha.flink-layout: 2.x}.
     */
    JOBS,
    /** Flink 2.3's applications: {@code application-<id>}, the id being Flink's ApplicationID. */
    APPLICATIONS
  }

  /** Opens the store of job graphs for the current leadership of {@code election}. */
  public static CompletableFuture<JobGraphStore> open(Election election) {
    return open(election, Kind.JOBS);
  }

  /**
   * Opens the store of {@code kind} for the current leadership of {@code election}; the methods'
   * "job id" is then that kind's id.
   */
  public static CompletableFuture<JobGraphStore> open(Election election, Kind kind) {
    CompletableFuture<Object> opened = new CompletableFuture<>();
    Context ctx = election.context();
    JobGraphStore store;
    synchronized (election) {
      store = new JobGraphStore(ctx, Native.graphsOpen(election.handle(), kind.ordinal(), opened));
    }
    ctx.adopt(store);
    return opened.handle((x, failure) -> {
      if (failure != null) {
        store.close();
        throw failure instanceof RuntimeException ? (RuntimeException) failure
            : new RuntimeException(failure);
      }
      return store;
    });
  }

  private synchronized CompletableFuture<Object> call(int op, String jobId, byte[] graph) {
    if (handle == 0) {
      throw new IllegalStateException("the job-graph store is closed");
    }
    CompletableFuture<Object> done = new CompletableFuture<>();
    Native.graphsCall(handle, op, jobId, graph, done);
    return done;
  }

  /**
   * Stores the graph of {@code jobId} (32 lowercase hex digits), replacing an earlier one (whose
   * blob is deleted after the commit); an identical graph succeeds without a write.
   */
  public CompletableFuture<Void> put(String jobId, byte[] graph) {
    return call(OP_PUT, jobId, graph).thenApply(x -> null);
  }

  /**
   * Stores pointer bytes the caller encoded itself (not starting with "K8P": Flink's own state
   * handle of a graph blob the caller wrote, so that Flink's own HA can read it) as the entry of
   * {@code jobId}, replacing an earlier one; the blob a replaced entry names goes after the
   * commit unless the new one names it too (or may: Flink's handle replaced by bytes that are
   * not one keeps its blob). Bytes that start like Java serialization (0xACED) and are not
   * Flink's handle throw {@link K8shaException#ECORRUPT}; nothing is written.
   */
  public CompletableFuture<Void> putPointer(String jobId, byte[] pointer) {
    return call(OP_PUT_POINTER, jobId, pointer).thenApply(x -> null);
  }

  /** Reads and verifies the graph of {@code jobId}; {@link K8shaException#ENOTFOUND} if none. */
  public CompletableFuture<byte[]> get(String jobId) {
    return call(OP_GET, jobId, null).thenApply(x -> (byte[]) x);
  }

  /** Removes the graph of {@code jobId} (resumable; an absent one is success). */
  public CompletableFuture<Void> remove(String jobId) {
    return call(OP_REMOVE, jobId, null).thenApply(x -> null);
  }

  /** The job ids with a graph, sorted, as this store knows them. */
  public synchronized List<String> jobIds() {
    if (handle == 0) {
      throw new IllegalStateException("the job-graph store is closed");
    }
    return List.of(Native.graphsIds(handle));
  }

  /** Frees the store; idempotent. Pending operations fail with ECANCELED. */
  @Override
  public void close() {
    synchronized (this) {
      if (handle == 0) {
        return;
      }
      Native.graphsFree(handle);
      handle = 0;
    }
    ctx.release(this);
  }

  @Override
  public String toString() {
    return "JobGraphStore";
  }
}
