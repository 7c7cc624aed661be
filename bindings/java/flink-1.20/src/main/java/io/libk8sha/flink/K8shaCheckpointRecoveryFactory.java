package io.libk8sha.flink;

import java.util.concurrent.Executor;
import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.state.SharedStateRegistryFactory;

/**
 * Makes a job's completed-checkpoint store and checkpoint ID counter on libk8sha, for the
 * current leadership of the JobManager's election (Flink 1.x's interface; see {@link HaParts}).
 */
public final class K8shaCheckpointRecoveryFactory implements CheckpointRecoveryFactory {
  private final HaParts parts;

  K8shaCheckpointRecoveryFactory(HaParts parts) {
    this.parts = parts;
  }

  @Override
  public CompletedCheckpointStore createRecoveredCompletedCheckpointStore(JobID jobId,
      int maxNumberOfCheckpointsToRetain, SharedStateRegistryFactory registryFactory,
      Executor ioExecutor, RestoreMode restoreMode) throws Exception {
    return parts.recoveredCheckpointStore(jobId, maxNumberOfCheckpointsToRetain,
        recovered -> registryFactory.create(ioExecutor, recovered, restoreMode), ioExecutor);
  }

  @Override
  public CheckpointIDCounter createCheckpointIDCounter(JobID jobId) throws Exception {
    return parts.checkpointIdCounter(jobId);
  }
}
