package io.libk8sha.flink;

import java.util.List;
import java.util.concurrent.Executor;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.runtime.state.SharedStateRegistryFactory;

/**
 * Makes a job's completed-checkpoint store and checkpoint ID counter on libk8sha, for the
 * current leadership of the JobManager's election (Flink calls it when a JobMaster starts, after
 * the job's leadership was granted). Both share one libk8sha store of the job.
 */
public final class K8shaCheckpointRecoveryFactory implements CheckpointRecoveryFactory {
  private final SharedCheckpointStores stores;
  private final FlinkPointers flinkFormat;

  K8shaCheckpointRecoveryFactory(SharedCheckpointStores stores, FlinkPointers flinkFormat) {
    this.stores = stores;
    this.flinkFormat = flinkFormat;
  }

  @Override
  public CompletedCheckpointStore createRecoveredCompletedCheckpointStore(JobID jobId,
      int maxNumberOfCheckpointsToRetain, SharedStateRegistryFactory registryFactory,
      Executor ioExecutor, RestoreMode restoreMode) throws Exception {
    SharedCheckpointStores.Lease lease = stores.acquire(jobId);
    try {
      List<CompletedCheckpoint> recovered = K8shaCompletedCheckpointStore.recover(lease.get(),
          Thread.currentThread().getContextClassLoader());
      return new K8shaCompletedCheckpointStore(lease, maxNumberOfCheckpointsToRetain, recovered,
          registryFactory.create(ioExecutor, recovered, restoreMode), ioExecutor, flinkFormat);
    } catch (Exception | Error e) {
      lease.release();
      throw e;
    }
  }

  @Override
  public CheckpointIDCounter createCheckpointIDCounter(JobID jobId) throws Exception {
    return new K8shaCheckpointIDCounter(stores.acquire(jobId));
  }
}
