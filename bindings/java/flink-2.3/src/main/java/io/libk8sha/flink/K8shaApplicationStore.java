package io.libk8sha.flink;

import io.libk8sha.Election;
import io.libk8sha.JobGraphStore;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.flink.api.common.ApplicationID;
import org.apache.flink.runtime.jobmanager.ApplicationStore;
import org.apache.flink.runtime.jobmanager.ApplicationStoreEntry;

/**
 * Flink 2.3's ApplicationStore on libk8sha ({@code application-<id>} in the cluster ConfigMap,
 * beside the execution plans; see {@link StoredGraphs}). Flink creates one per leadership, when
 * the Dispatcher starts; it writes an application submitted with an entry to keep (a job
 * submitted alone is kept as its execution plan only).
 */
public final class K8shaApplicationStore implements ApplicationStore {
  private final StoredGraphs<ApplicationStoreEntry> applications;

  public K8shaApplicationStore(Election election) {
    this(election, null);
  }

  K8shaApplicationStore(Election election, FlinkPointers flinkFormat) {
    this.applications = new StoredGraphs<>(election, JobGraphStore.Kind.APPLICATIONS,
        ApplicationStoreEntry.class, flinkFormat, "submittedApplication");
  }

  @Override
  public void start() throws Exception {
    applications.start();
  }

  @Override
  public void stop() {
    applications.stop();
  }

  @Override
  public Optional<ApplicationStoreEntry> recoverApplication(ApplicationID applicationId)
      throws Exception {
    return Optional.ofNullable(applications.recover(applicationId.toHexString()));
  }

  @Override
  public void putApplication(ApplicationStoreEntry application) throws Exception {
    applications.put(application.getApplicationId().toHexString(), application);
  }

  @Override
  public Collection<ApplicationID> getApplicationIds() {
    List<ApplicationID> ids = new ArrayList<>();
    for (String id : applications.ids()) {
      ids.add(ApplicationID.fromHexString(id));
    }
    return ids;
  }

  @Override
  public CompletableFuture<Void> globalCleanupAsync(ApplicationID applicationId,
      Executor executor) {
    return applications.remove(applicationId.toHexString());
  }
}
