package io.libk8sha;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Deleting HA data (a job's, a whole cluster's) and finding orphans, as {@code k8sha cleanup}
 * and {@code k8sha orphans} do. Every deletion is fenced by the leader's term; pointers go before
 * the blobs they name; a blob is deleted only when it is named as stores name them. Each returns
 * everything found (deleted, or in a dry run what would be). A context is not freed while one of
 * its tasks runs: {@link Context#close()} waits for them.
 */
public final class Cleanup {
  private static final int JOB = 0;
  private static final int CLUSTER = 1;
  private static final int ORPHANS = 2;

  private Cleanup() {}

  private static CompletableFuture<List<Found>> run(Context ctx, Election leader, int kind,
      String jobId, boolean dryRun) {
    CompletableFuture<Object> done = new CompletableFuture<>();
    if (leader != null) {
      synchronized (leader) {
        ctx.task(done, () -> Native.task(ctx.handle(), leader.handle(), kind, jobId, dryRun, done));
      }
    } else {
      ctx.task(done, () -> Native.task(ctx.handle(), 0, kind, jobId, dryRun, done));
    }
    return done.thenApply(x -> List.of((Found[]) x));
  }

  /**
   * Deletes the HA data of one job (checkpoints, counter, its ConfigMap, its job graph and its
   * leader entry), fenced by {@code leader}'s current term.
   */
  public static CompletableFuture<List<Found>> job(Election leader, String jobId) {
    return run(leader.context(), leader, JOB, jobId, false);
  }

  /** What {@link #job} would delete; reads only. */
  public static CompletableFuture<List<Found>> jobDryRun(Context ctx, String jobId) {
    return run(ctx, null, JOB, jobId, true);
  }

  /** Deletes (or, in a dry run, lists) every HA ConfigMap and blob of the cluster. */
  public static CompletableFuture<List<Found>> cluster(Context ctx, boolean dryRun) {
    return run(ctx, null, CLUSTER, null, dryRun);
  }

  /**
   * Finds orphans: blobs no pointer names, job ConfigMaps whose job has no graph. With a
   * {@code leader}, also deletes the orphan blobs, fenced by its term; null only reports.
   */
  public static CompletableFuture<List<Found>> orphans(Context ctx, Election leader) {
    return run(ctx, leader, ORPHANS, null, false);
  }
}
