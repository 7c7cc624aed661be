package io.libk8sha.flink;

import io.libk8sha.Election;
import io.libk8sha.JobGraphStore;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobResourceRequirements;

/**
 * Flink 1.x's JobGraphStore on libk8sha ({@code jobGraph-<id>} in the cluster ConfigMap; see
 * {@link StoredGraphs}). Flink creates one per leadership, when the Dispatcher starts.
 *
 * <p>Other processes' changes are not reported to the {@link JobGraphListener}: only the leader
 * writes graphs, and Flink acts on those reports only for writes by another leader, which the
 * fencing refuses.
 */
public final class K8shaJobGraphStore implements org.apache.flink.runtime.jobmanager.JobGraphStore {
  private final StoredGraphs<JobGraph> graphs;

  public K8shaJobGraphStore(Election election) {
    this(election, null);
  }

  K8shaJobGraphStore(Election election, FlinkPointers flinkFormat) {
    this.graphs = new StoredGraphs<>(election, JobGraphStore.Kind.JOBS, JobGraph.class,
        flinkFormat, "submittedJobGraph");
  }

  @Override
  public void start(JobGraphListener listener) throws Exception {
    graphs.start();
  }

  @Override
  public void stop() {
    graphs.stop();
  }

  @Override
  public JobGraph recoverJobGraph(JobID jobId) throws Exception {
    return graphs.recover(jobId.toHexString());
  }

  @Override
  public void putJobGraph(JobGraph jobGraph) throws Exception {
    graphs.put(jobGraph.getJobID().toHexString(), jobGraph);
  }

  @Override
  public void putJobResourceRequirements(JobID jobId, JobResourceRequirements requirements)
      throws Exception {
    JobGraph graph = recoverJobGraph(jobId);
    if (graph == null) {
      throw new java.util.NoSuchElementException("no job graph of " + jobId + " to update");
    }
    JobResourceRequirements.writeToJobGraph(graph, requirements);
    putJobGraph(graph);
  }

  @Override
  public Collection<JobID> getJobIds() {
    List<JobID> ids = new ArrayList<>();
    for (String id : graphs.ids()) {
      ids.add(JobID.fromHexString(id));
    }
    return ids;
  }

  @Override
  public CompletableFuture<Void> globalCleanupAsync(JobID jobId, Executor executor) {
    return graphs.remove(jobId.toHexString());
  }

  @Override
  public CompletableFuture<Void> localCleanupAsync(JobID jobId, Executor executor) {
    return CompletableFuture.completedFuture(null); // (nothing is held locally)
  }
}
