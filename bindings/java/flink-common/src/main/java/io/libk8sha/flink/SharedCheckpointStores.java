package io.libk8sha.flink;

import io.libk8sha.CheckpointStore;
import io.libk8sha.Election;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.flink.api.common.JobID;

/**
 * One libk8sha checkpoint store per job and leadership, shared by the job's completed-checkpoint
 * store and checkpoint ID counter (Flink creates them separately; one store keeps one claim of
 * the job's ConfigMap and no conflicts between the two). The store closes when both released it.
 * A new leadership gets a new store: one opened in an older term only sees its writes refused.
 */
final class SharedCheckpointStores {
  private final Supplier<Election> election;
  private final Map<String, Entry> open = new HashMap<>();

  private static final class Entry {
    final String key;
    final CheckpointStore store;
    int users;

    Entry(String key, CheckpointStore store) {
      this.key = key;
      this.store = store;
    }
  }

  /** One user's hold on a shared store; {@link #release()} once. */
  final class Lease {
    private final Entry entry;
    private boolean released;

    private Lease(Entry entry) {
      this.entry = entry;
    }

    CheckpointStore get() {
      return entry.store;
    }

    /** The store was shut down: later users get a store of their own. */
    void retire() {
      synchronized (SharedCheckpointStores.this) {
        open.remove(entry.key, entry);
      }
    }

    void release() {
      synchronized (SharedCheckpointStores.this) {
        if (released) {
          return;
        }
        released = true;
        if (--entry.users == 0) {
          open.remove(entry.key, entry);
          entry.store.close();
        }
      }
    }
  }

  SharedCheckpointStores(Supplier<Election> election) {
    this.election = election;
  }

  /**
   * The store of {@code job} for the current leadership, opened (claiming the job's ConfigMap)
   * by its first user. Fails with ENOTLEADER when this process does not lead.
   */
  synchronized Lease acquire(JobID job) throws Exception {
    Election e = election.get();
    String key = job.toHexString() + "@" + e.leadingTerm() + "/" + e.session();
    Entry entry = open.get(key);
    if (entry == null) {
      entry = new Entry(key, K8shaCompletedCheckpointStore.join(CheckpointStore.open(e,
          job.toHexString())));
      open.put(key, entry);
    }
    entry.users++;
    return new Lease(entry);
  }

  /** Closes every store still open (the services close). */
  synchronized void closeAll() {
    for (Entry entry : open.values()) {
      entry.store.close();
    }
    open.clear();
  }
}
