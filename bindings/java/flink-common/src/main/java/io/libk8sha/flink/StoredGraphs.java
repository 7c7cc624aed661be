package io.libk8sha.flink;

import io.libk8sha.Election;
import io.libk8sha.JobGraphStore;
import io.libk8sha.K8shaException;
import java.io.Serializable;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.flink.runtime.persistence.filesystem.FileSystemStateStorageHelper;
import org.apache.flink.runtime.state.RetrievableStateHandle;
import org.apache.flink.util.InstantiationUtil;

/**
 * The entries of one kind in the cluster ConfigMap (Flink 1.x's job graphs, Flink 2.x's execution
 * plans, Flink 2.3's applications) on libk8sha's job-graph store, for the leadership of the
 * JobManager's election in which Flink starts them. A value is stored as Flink stores it, its
 * Java serialization in a blob, with libk8sha's pointer, or, with
 * {@code libk8sha.flink.pointer-format: flink}, Flink's own handle of a blob Flink's own writer
 * put; either is read. Every write is fenced by the leadership. Flink's store classes of each
 * line wrap this one.
 */
final class StoredGraphs<T extends Serializable> {
  private final Election election;
  private final JobGraphStore.Kind kind;
  private final Class<T> type;
  private final FlinkPointers flinkFormat; // null: libk8sha's own pointers
  private final FileSystemStateStorageHelper<T> flinkBlobs;
  private JobGraphStore store; // while started

  /**
   * @param flinkBlobPrefix the name Flink gives this kind's blobs ({@code submittedJobGraph},
   *     {@code submittedExecutionPlan}, {@code submittedApplication})
   */
  StoredGraphs(Election election, JobGraphStore.Kind kind, Class<T> type,
      FlinkPointers flinkFormat, String flinkBlobPrefix) {
    this.election = election;
    this.kind = kind;
    this.type = type;
    this.flinkFormat = flinkFormat;
    this.flinkBlobs = flinkFormat == null ? null : flinkFormat.storage(flinkBlobPrefix);
  }

  static Exception unwrap(CompletionException e) {
    return e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
  }

  private synchronized JobGraphStore store() {
    if (store == null) {
      throw new IllegalStateException("the " + type.getSimpleName() + " store is not started");
    }
    return store;
  }

  synchronized void start() throws Exception {
    if (store == null) {
      try {
        store = JobGraphStore.open(election, kind).join();
      } catch (CompletionException e) {
        throw unwrap(e);
      }
    }
  }

  synchronized void stop() {
    if (store != null) {
      store.close();
      store = null;
    }
  }

  /** The value stored for {@code id}, or null when there is none. */
  T recover(String id) throws Exception {
    byte[] bytes;
    try {
      bytes = store().get(id).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof K8shaException
          && ((K8shaException) e.getCause()).code() == K8shaException.ENOTFOUND) {
        return null; // (as Flink's own stores: nothing stored for that id)
      }
      throw unwrap(e);
    }
    Object value =
        InstantiationUtil.deserializeObject(bytes, Thread.currentThread().getContextClassLoader());
    if (!type.isInstance(value)) {
      throw new java.io.IOException("the " + type.getSimpleName() + " entry of " + id + " holds a "
          + (value == null ? "null" : value.getClass().getName()) + ", not a "
          + type.getName());
    }
    return type.cast(value);
  }

  /** Stores {@code value} as the entry of {@code id}, replacing an earlier one. */
  void put(String id, T value) throws Exception {
    if (flinkFormat == null) {
      byte[] bytes = InstantiationUtil.serializeObject(value);
      try {
        store().put(id, bytes).join();
      } catch (CompletionException e) {
        throw unwrap(e);
      }
      return;
    }
    // Flink's own format: Flink's writer puts the blob, the entry is Flink's handle of it
    RetrievableStateHandle<T> blob = flinkBlobs.store(value);
    try {
      store().putPointer(id, flinkFormat.pointer(blob)).join();
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

  /** The ids with an entry, sorted. */
  List<String> ids() {
    return store().jobIds();
  }

  /** Removes the entry of {@code id} and its blob; an absent one is success. */
  CompletableFuture<Void> remove(String id) {
    return store().remove(id);
  }
}
