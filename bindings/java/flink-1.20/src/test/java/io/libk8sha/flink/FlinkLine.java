package io.libk8sha.flink;

import io.libk8sha.Election;
import java.util.Collection;
import java.util.concurrent.ForkJoinPool;
import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmanager.JobGraphStore;
import org.apache.flink.runtime.state.SharedStateRegistry;

/** What the shared tests (../flink-common/src/test) need that differs between Flink lines. */
final class FlinkLine {
  static final String VERSION = "1.20.1";
  /** The cluster ConfigMap's graph entries, and the names of their blobs. */
  static final String GRAPH_KEY = "jobGraph-";
  static final String GRAPH_BLOB = "submittedJobGraph";

  private FlinkLine() {}

  static CompletedCheckpointStore recoveredStore(HighAvailabilityServices s, JobID job,
      int retained) throws Exception {
    return s.getCheckpointRecoveryFactory().createRecoveredCompletedCheckpointStore(job,
        retained, SharedStateRegistry.DEFAULT_FACTORY,
        org.apache.flink.util.concurrent.Executors.directExecutor(), RestoreMode.DEFAULT);
  }

  /** The services' graph store, started. */
  static Graphs graphs(HighAvailabilityServices s) throws Exception {
    return started(s.getJobGraphStore());
  }

  /** libk8sha's graph store for {@code election}'s leadership, started. */
  static Graphs graphs(Election election) throws Exception {
    return started(new K8shaJobGraphStore(election));
  }

  private static Graphs started(JobGraphStore store) throws Exception {
    store.start(new JobGraphStore.JobGraphListener() {
      @Override
      public void onAddedJobGraph(JobID id) {}

      @Override
      public void onRemovedJobGraph(JobID id) {}
    });
    return new Graphs() {
      @Override
      public void put(JobID job, String name) throws Exception {
        store.putJobGraph(new JobGraph(job, name));
      }

      @Override
      public String name(JobID job) throws Exception {
        JobGraph g = store.recoverJobGraph(job);
        return g == null ? null : g.getName();
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
