package io.libk8sha.flink;

import io.libk8sha.Election;
import io.libk8sha.JobGraphStore;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.jobgraph.JobResourceRequirements;
import org.apache.flink.runtime.jobmanager.ExecutionPlanStore;
import org.apache.flink.streaming.api.graph.ExecutionPlan;

/**
 * Flink 2.x's ExecutionPlanStore on libk8sha ({@code executionPlan-<id>} in the cluster
 * ConfigMap; see {@link StoredGraphs}). Flink creates one per leadership, when the Dispatcher
 * starts.
 *
 * <p>Other processes' changes are not reported to the {@link ExecutionPlanListener}: only the
 * leader writes plans, and Flink acts on those reports only for writes by another leader, which
 * the fencing refuses.
 */
public final class K8shaExecutionPlanStore implements ExecutionPlanStore {
  private final StoredGraphs<ExecutionPlan> plans;

  public K8shaExecutionPlanStore(Election election) {
    this(election, null);
  }

  K8shaExecutionPlanStore(Election election, FlinkPointers flinkFormat) {
    this.plans = new StoredGraphs<>(election, JobGraphStore.Kind.JOBS, ExecutionPlan.class,
        flinkFormat, "submittedExecutionPlan");
  }

  @Override
  public void start(ExecutionPlanListener listener) throws Exception {
    plans.start();
  }

  @Override
  public void stop() {
    plans.stop();
  }

  @Override
  public ExecutionPlan recoverExecutionPlan(JobID jobId) throws Exception {
    return plans.recover(jobId.toHexString());
  }

  @Override
  public void putExecutionPlan(ExecutionPlan plan) throws Exception {
    plans.put(plan.getJobID().toHexString(), plan);
  }

  @Override
  public void putJobResourceRequirements(JobID jobId, JobResourceRequirements requirements)
      throws Exception {
    ExecutionPlan plan = recoverExecutionPlan(jobId);
    if (plan == null) {
      throw new java.util.NoSuchElementException("no execution plan of " + jobId + " to update");
    }
    JobResourceRequirements.writeToExecutionPlan(plan, requirements);
    putExecutionPlan(plan);
  }

  @Override
  public Collection<JobID> getJobIds() {
    List<JobID> ids = new ArrayList<>();
    for (String id : plans.ids()) {
      ids.add(JobID.fromHexString(id));
    }
    return ids;
  }

  @Override
  public CompletableFuture<Void> globalCleanupAsync(JobID jobId, Executor executor) {
    return plans.remove(jobId.toHexString());
  }

  @Override
  public CompletableFuture<Void> localCleanupAsync(JobID jobId, Executor executor) {
    return CompletableFuture.completedFuture(null); // (nothing is held locally)
  }
}
