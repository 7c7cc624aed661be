package io.libk8sha.flink;

import io.libk8sha.Cleanup;
import io.libk8sha.Context;
import io.libk8sha.Election;
import java.util.concurrent.Executor;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.blob.BlobStoreService;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.highavailability.AbstractHaServices;
import org.apache.flink.runtime.highavailability.JobResultStore;
import org.apache.flink.runtime.jobmanager.JobGraphStore;
import org.apache.flink.runtime.leaderretrieval.DefaultLeaderRetrievalService;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalService;

/**
 * Flink's high-availability services on libk8sha, in Flink's layout: one leader election per
 * JobManager process on {@code <cluster-id>-cluster-config-map}, where the dispatcher,
 * resourcemanager, restserver and {@code job-<id>} components publish their addresses; job
 * graphs in the same ConfigMap and each job's checkpoints and counter in
 * {@code <cluster-id>-<job-id>-config-map}, every write fenced by the leadership. Flink's own
 * file-system JobResultStore and BlobStore keep their data in the storage directory.
 */
@SuppressWarnings("try") // (Flink's close() throws Exception)
public final class K8shaHaServices extends AbstractHaServices {
  private final Context ctx;
  private final K8shaLeaderElectionDriverFactory drivers;
  private final SharedCheckpointStores checkpointStores;
  private final FlinkPointers flinkFormat; // null: libk8sha's own pointers

  K8shaHaServices(Configuration config, Executor ioExecutor, BlobStoreService blobs,
      JobResultStore results, Context ctx, K8shaLeaderElectionDriverFactory drivers,
      FlinkPointers flinkFormat) {
    super(config, drivers, ioExecutor, blobs, results);
    this.ctx = ctx;
    this.drivers = drivers;
    this.checkpointStores = new SharedCheckpointStores(drivers::election);
    this.flinkFormat = flinkFormat;
  }

  /** The libk8sha context the services run on. */
  public Context context() {
    return ctx;
  }

  @Override
  protected LeaderRetrievalService createLeaderRetrievalService(String componentId) {
    return new DefaultLeaderRetrievalService(
        new K8shaLeaderRetrievalDriverFactory(ctx, componentId));
  }

  @Override
  protected CheckpointRecoveryFactory createCheckpointRecoveryFactory() {
    return new K8shaCheckpointRecoveryFactory(checkpointStores, flinkFormat);
  }

  @Override
  protected JobGraphStore createJobGraphStore() {
    return new K8shaJobGraphStore(drivers.election(), flinkFormat);
  }

  @Override
  protected void internalClose() {
    checkpointStores.closeAll();
    ctx.close();
  }

  /**
   * Removes every HA ConfigMap of the cluster and the blobs their pointers name (Flink calls it
   * when the cluster ends for good, after its jobs ended). Flink's BlobStore is cleaned up by
   * Flink itself.
   */
  @Override
  protected void internalCleanup() throws Exception {
    checkpointStores.closeAll();
    K8shaCompletedCheckpointStore.join(Cleanup.cluster(ctx, false));
  }

  /** Removes the job's ConfigMap, its job graph and its leader entry, fenced by the leadership. */
  @Override
  protected void internalCleanupJobData(JobID jobId) throws Exception {
    Election e = drivers.election();
    K8shaCompletedCheckpointStore.join(Cleanup.job(e, jobId.toHexString()));
  }

  @Override
  protected String getLeaderPathForResourceManager() {
    return "resourcemanager";
  }

  @Override
  protected String getLeaderPathForDispatcher() {
    return "dispatcher";
  }

  @Override
  protected String getLeaderPathForJobManager(JobID jobId) {
    return "job-" + jobId.toHexString();
  }

  @Override
  protected String getLeaderPathForRestServer() {
    return "restserver";
  }
}
