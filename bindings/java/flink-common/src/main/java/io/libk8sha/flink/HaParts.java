package io.libk8sha.flink;

import io.libk8sha.Cleanup;
import io.libk8sha.Config;
import io.libk8sha.Context;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.leaderretrieval.DefaultLeaderRetrievalService;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalService;
import org.apache.flink.runtime.state.SharedStateRegistry;

/**
 * What the HA services of every Flink line share: the libk8sha context, made from Flink's
 * configuration (Flink's own Kubernetes HA keys, plus libk8sha's options under {@code libk8sha.};
 * blobs through Flink's FileSystem), the one election of the JobManager process, the job stores
 * of its leaderships, and the names Flink's components publish under. Each line's
 * {@code K8shaHaServices} (on that line's AbstractHaServices) delegates to it.
 */
final class HaParts {
  static final String RESOURCE_MANAGER = "resourcemanager";
  static final String DISPATCHER = "dispatcher";
  static final String REST_SERVER = "restserver";

  final Context ctx;
  final K8shaLeaderElectionDriverFactory drivers;
  final SharedCheckpointStores checkpointStores;
  final FlinkPointers flinkFormat; // null: libk8sha's own pointers

  private HaParts(Context ctx, FlinkPointers flinkFormat) {
    this.ctx = ctx;
    this.drivers = new K8shaLeaderElectionDriverFactory(ctx, null);
    this.checkpointStores = new SharedCheckpointStores(drivers::election);
    this.flinkFormat = flinkFormat;
  }

  /** The context for Flink's {@code configuration}; close it if what follows fails. */
  static HaParts create(Configuration configuration) throws Exception {
    FlinkPointers flinkFormat = FlinkPointers.of(configuration); // (checked before anything runs)
    Context ctx;
    String scheme;
    try (Config config = FlinkConfiguration.of(configuration)) {
      scheme = FlinkConfiguration.scheme(config.storageDir());
      ctx = new Context(config, new Slf4jLogSink(), Slf4jLogSink.level());
    }
    try {
      ctx.registerStorage(new FlinkFileSystemBackend(scheme));
      return new HaParts(ctx, flinkFormat);
    } catch (Exception | Error e) {
      ctx.close();
      throw e;
    }
  }

  /** The leader name of a job's JobMaster. */
  static String jobManager(JobID jobId) {
    return "job-" + jobId.toHexString();
  }

  LeaderRetrievalService retrievalService(String componentId) {
    return new DefaultLeaderRetrievalService(
        new K8shaLeaderRetrievalDriverFactory(ctx, componentId));
  }

  /**
   * A job's completed-checkpoint store, recovered, for the current leadership (Flink asks when a
   * JobMaster starts, after the job's leadership was granted); it shares one libk8sha store of
   * the job with the job's ID counter.
   */
  CompletedCheckpointStore recoveredCheckpointStore(JobID jobId, int maxRetained,
      Function<List<CompletedCheckpoint>, SharedStateRegistry> registry, Executor ioExecutor)
      throws Exception {
    SharedCheckpointStores.Lease lease = checkpointStores.acquire(jobId);
    try {
      List<CompletedCheckpoint> recovered = K8shaCompletedCheckpointStore.recover(lease.get(),
          Thread.currentThread().getContextClassLoader());
      return new K8shaCompletedCheckpointStore(lease, maxRetained, recovered,
          registry.apply(recovered), ioExecutor, flinkFormat);
    } catch (Exception | Error e) {
      lease.release();
      throw e;
    }
  }

  CheckpointIDCounter checkpointIdCounter(JobID jobId) throws Exception {
    return new K8shaCheckpointIDCounter(checkpointStores.acquire(jobId));
  }

  void close() {
    checkpointStores.closeAll();
    ctx.close();
  }

  /**
   * Removes every HA ConfigMap of the cluster and the blobs their pointers name (Flink calls it
   * when the cluster ends for good, after its jobs ended). Flink's BlobStore is cleaned up by
   * Flink itself.
   */
  void cleanupCluster() throws Exception {
    checkpointStores.closeAll();
    K8shaCompletedCheckpointStore.join(Cleanup.cluster(ctx, false));
  }

  /** Removes the job's ConfigMap, its graph entry and its leader entry, fenced by the leadership. */
  void cleanupJob(JobID jobId) throws Exception {
    K8shaCompletedCheckpointStore.join(Cleanup.job(drivers.election(), jobId.toHexString()));
  }
}
