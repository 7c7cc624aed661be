package io.libk8sha.flink;

import io.libk8sha.Election;
import java.util.Collection;
import java.util.concurrent.ForkJoinPool;
import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.runtime.jobmanager.ExecutionPlanStore;
import org.apache.flink.runtime.state.SharedStateRegistry;
import org.apache.flink.streaming.api.graph.ExecutionPlan;

/** What the shared tests (../flink-common/src/test) need that differs between Flink lines. */
final class FlinkLine {
  static final String VERSION = "2.3.0";
  /** The cluster ConfigMap's graph entries, and the names of their blobs. */
  static final String GRAPH_KEY = "executionPlan-";
  static final String GRAPH_BLOB = "submittedExecutionPlan";

  private FlinkLine() {}

  static CompletedCheckpointStore recoveredStore(HighAvailabilityServices s, JobID job,
      int retained) throws Exception {
    return s.getCheckpointRecoveryFactory().createRecoveredCompletedCheckpointStore(job,
        retained, SharedStateRegistry.DEFAULT_FACTORY,
        org.apache.flink.util.concurrent.Executors.directExecutor(), RecoveryClaimMode.DEFAULT);
  }

  /** The services' execution plan store, started. */
  static Graphs graphs(HighAvailabilityServices s) throws Exception {
    return started(s.getExecutionPlanStore());
  }

  /** libk8sha's execution plan store for {@code election}'s leadership, started. */
  static Graphs graphs(Election election) throws Exception {
    return started(new K8shaExecutionPlanStore(election));
  }

  private static Graphs started(ExecutionPlanStore store) throws Exception {
    store.start(new ExecutionPlanStore.ExecutionPlanListener() {
      @Override
      public void onAddedExecutionPlan(JobID id) {}

      @Override
      public void onRemovedExecutionPlan(JobID id) {}
    });
    return new Graphs() {
      @Override
      public void put(JobID job, String name) throws Exception {
        store.putExecutionPlan(new JobGraph(job, name, new JobVertex[0]));
      }

      @Override
      public String name(JobID job) throws Exception {
        ExecutionPlan p = store.recoverExecutionPlan(job);
        return p == null ? null : p.getName();
      }

      @Override
      public Collection<JobID> ids() throws Exception {
        return store.getJobIds();
      }

      @Override
      public void remove(JobID job) {
        store.globalCleanupAsync(job, ForkJoinPool.commonPool()).join();
      }

      @Override
      public void stop() throws Exception {
        store.stop();
      }
    };
  }
}
