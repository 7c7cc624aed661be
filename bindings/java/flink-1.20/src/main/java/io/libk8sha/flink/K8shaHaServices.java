package io.libk8sha.flink;

import io.libk8sha.Context;
import java.util.concurrent.Executor;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.blob.BlobStoreService;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.highavailability.AbstractHaServices;
import org.apache.flink.runtime.highavailability.JobResultStore;
import org.apache.flink.runtime.jobmanager.JobGraphStore;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalService;

/**
 * Flink 1.x's high-availability services on libk8sha, in Flink's layout: one leader election per
 * JobManager process on {@code <cluster-id>-cluster-config-map}, where the dispatcher,
 * resourcemanager, restserver and {@code job-<id>} components publish their addresses; job
 * graphs in the same ConfigMap and each job's checkpoints and counter in
 * {@code <cluster-id>-<job-id>-config-map}, every write fenced by the leadership. Flink's own
 * file-system JobResultStore and BlobStore keep their data in the storage directory.
 */
@SuppressWarnings("try") // (Flink's close() throws Exception)
public final class K8shaHaServices extends AbstractHaServices {
  private final HaParts parts;

  K8shaHaServices(Configuration config, Executor ioExecutor, BlobStoreService blobs,
      JobResultStore results, HaParts parts) {
    super(config, parts.drivers, ioExecutor, blobs, results);
    this.parts = parts;
  }

  /** The libk8sha context the services run on. */
  public Context context() {
    return parts.ctx;
  }

  @Override
  protected LeaderRetrievalService createLeaderRetrievalService(String componentId) {
    return parts.retrievalService(componentId);
  }

  @Override
  protected CheckpointRecoveryFactory createCheckpointRecoveryFactory() {
    return new K8shaCheckpointRecoveryFactory(parts);
  }

  @Override
  protected JobGraphStore createJobGraphStore() {
    return new K8shaJobGraphStore(parts.drivers.election(), parts.flinkFormat);
  }

  @Override
  protected void internalClose() {
    parts.close();
  }

  @Override
  protected void internalCleanup() throws Exception {
    parts.cleanupCluster();
  }

  @Override
  protected void internalCleanupJobData(JobID jobId) throws Exception {
    parts.cleanupJob(jobId);
  }

  @Override
  protected String getLeaderPathForResourceManager() {
    return HaParts.RESOURCE_MANAGER;
  }

  @Override
  protected String getLeaderPathForDispatcher() {
    return HaParts.DISPATCHER;
  }

  @Override
  protected String getLeaderPathForJobManager(JobID jobId) {
    return HaParts.jobManager(jobId);
  }

  @Override
  protected String getLeaderPathForRestServer() {
    return HaParts.REST_SERVER;
  }
}
