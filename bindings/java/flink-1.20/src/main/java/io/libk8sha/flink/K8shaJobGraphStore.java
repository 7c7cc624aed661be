package io.libk8sha.flink;

import io.libk8sha.Election;
import io.libk8sha.JobGraphStore;
import io.libk8sha.K8shaException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobResourceRequirements;
import org.apache.flink.util.InstantiationUtil;

/**
 * Flink's JobGraphStore on libk8sha's job-graph store, for the leadership of the JobManager's
 * election in which the Dispatcher starts it (Flink creates one per leadership). A graph is
 * stored as Flink stores it, its Java serialization in a blob, with libk8sha's pointer; a graph
 * Flink's own HA wrote (its pointer Flink's serialized state handle) is read through that handle.
 * Every write is fenced by the leadership.
 *
 * <p>Other processes' changes are not reported to the {@link JobGraphListener}: only the leader
 * writes graphs, and Flink acts on those reports only for writes by another leader, which the
 * fencing refuses.
 */
public final class K8shaJobGraphStore implements org.apache.flink.runtime.jobmanager.JobGraphStore {
  private final Election election;
  private final FlinkPointers flinkFormat; // null: libk8sha's own pointers
  private final org.apache.flink.runtime.persistence.filesystem.FileSystemStateStorageHelper<
      JobGraph> flinkBlobs;
  private JobGraphStore store; // while started

  public K8shaJobGraphStore(Election election) {
    this(election, null);
  }

  K8shaJobGraphStore(Election election, FlinkPointers flinkFormat) {
    this.election = election;
    this.flinkFormat = flinkFormat;
    this.flinkBlobs = flinkFormat == null ? null : flinkFormat.storage("submittedJobGraph");
  }

  private static Exception unwrap(CompletionException e) {
    return e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
  }

  private synchronized JobGraphStore store() {
    if (store == null) {
      throw new IllegalStateException("the job graph store is not started");
    }
    return store;
  }

  @Override
  public synchronized void start(JobGraphListener listener) throws Exception {
    if (store == null) {
      try {
        store = JobGraphStore.open(election).join();
      } catch (CompletionException e) {
        throw unwrap(e);
      }
    }
  }

  @Override
  public synchronized void stop() {
    if (store != null) {
      store.close();
      store = null;
    }
  }

  @Override
  public JobGraph recoverJobGraph(JobID jobId) throws Exception {
    byte[] bytes;
    try {
      bytes = store().get(jobId.toHexString()).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof K8shaException
          && ((K8shaException) e.getCause()).code() == K8shaException.ENOTFOUND) {
        return null; // (as Flink's own store: no graph for that job)
      }
      throw unwrap(e);
    }
    Object graph =
        InstantiationUtil.deserializeObject(bytes, Thread.currentThread().getContextClassLoader());
    if (!(graph instanceof JobGraph)) {
      throw new java.io.IOException("the job graph entry of " + jobId + " holds a "
          + (graph == null ? "null" : graph.getClass().getName()) + ", not a JobGraph");
    }
    return (JobGraph) graph;
  }

  @Override
  public void putJobGraph(JobGraph jobGraph) throws Exception {
    String job = jobGraph.getJobID().toHexString();
    if (flinkFormat == null) {
      byte[] bytes = InstantiationUtil.serializeObject(jobGraph);
      try {
        store().put(job, bytes).join();
      } catch (CompletionException e) {
        throw unwrap(e);
      }
      return;
    }
    // Flink's own format: Flink's writer puts the blob, the entry is Flink's handle of it
    org.apache.flink.runtime.state.RetrievableStateHandle<JobGraph> blob =
        flinkBlobs.store(jobGraph);
    try {
      store().putPointer(job, flinkFormat.pointer(blob)).join();
    } catch (Exception e) {
      Exception failure = e instanceof CompletionException ? unwrap((CompletionException) e) : e;
      if (!(failure instanceof K8shaException && ((K8shaException) failure).isUnknownOutcome())) {
        try {
          blob.discardState(); // nothing names it
        } catch (Exception d) {
          failure.addSuppressed(d);
        }
      }
      throw failure;
    }
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
    for (String id : store().jobIds()) {
      ids.add(JobID.fromHexString(id));
    }
    return ids;
  }

  @Override
  public CompletableFuture<Void> globalCleanupAsync(JobID jobId, Executor executor) {
    return store().remove(jobId.toHexString());
  }

  @Override
  public CompletableFuture<Void> localCleanupAsync(JobID jobId, Executor executor) {
    return CompletableFuture.completedFuture(null); // (nothing is held locally)
  }
}
