package io.libk8sha.flink;

import io.libk8sha.CheckpointStore;
import io.libk8sha.JobStatus;
import io.libk8sha.K8shaException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.apache.flink.runtime.checkpoint.AbstractCompleteCheckpointStore;
import org.apache.flink.runtime.checkpoint.CheckpointsCleaner;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.persistence.PossibleInconsistentStateException;
import org.apache.flink.runtime.persistence.filesystem.FileSystemStateStorageHelper;
import org.apache.flink.runtime.state.RetrievableStateHandle;
import org.apache.flink.runtime.state.SharedStateRegistry;
import org.apache.flink.util.InstantiationUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flink's CompletedCheckpointStore on libk8sha's checkpoint store of the job: each completed
 * checkpoint is written (its Java serialization, as Flink's own store writes it) to a new blob,
 * and added in one fenced ConfigMap update that also retires the checkpoints Flink's
 * subsumption drops ({@link Subsumption}). Outcomes map onto Flink's: a definite failure is an
 * exception after which Flink discards the checkpoint (nothing points to it); an unknown outcome
 * (the update may have landed) is Flink's {@link PossibleInconsistentStateException}, after which
 * Flink keeps the checkpoint's files and fails over to recover what the store holds. A write by a
 * deposed leader is refused ({@link K8shaException#ENOTLEADER}).
 */
public final class K8shaCompletedCheckpointStore extends AbstractCompleteCheckpointStore {
  private static final Logger LOG = LoggerFactory.getLogger(K8shaCompletedCheckpointStore.class);

  private final SharedCheckpointStores.Lease store;
  private final int maxRetained;
  private final Executor ioExecutor;
  private final ArrayDeque<CompletedCheckpoint> retained;
  private final FlinkPointers flinkFormat; // null: libk8sha's own pointers
  private final FileSystemStateStorageHelper<CompletedCheckpoint> flinkBlobs;
  private boolean running = true;

  K8shaCompletedCheckpointStore(SharedCheckpointStores.Lease store, int maxRetained,
      Collection<CompletedCheckpoint> recovered, SharedStateRegistry registry,
      Executor ioExecutor, FlinkPointers flinkFormat) {
    super(registry);
    this.flinkFormat = flinkFormat;
    this.flinkBlobs = flinkFormat == null ? null : flinkFormat.storage("completedCheckpoint");
    if (maxRetained < 1) {
      throw new IllegalArgumentException("at least one checkpoint must be retained");
    }
    this.store = store;
    this.maxRetained = maxRetained;
    this.ioExecutor = ioExecutor;
    this.retained = new ArrayDeque<>(recovered);
  }

  /** The checkpoints the store holds, oldest first, as Flink reads them back. */
  static List<CompletedCheckpoint> recover(CheckpointStore store, ClassLoader loader)
      throws Exception {
    List<CompletedCheckpoint> out = new ArrayList<>();
    for (io.libk8sha.Checkpoint c : join(store.recover())) {
      if (!c.isIntact()) {
        // (as Flink's own store: a retained checkpoint that cannot be read stops the recovery;
        // restoring from an older one instead could repeat output the newer one covered)
        throw new org.apache.flink.util.FlinkException("checkpoint " + c.id() + " of "
            + store.configMapName() + " cannot be read", c.failure());
      }
      Object o = InstantiationUtil.deserializeObject(c.state(), loader);
      if (!(o instanceof CompletedCheckpoint)) {
        throw new java.io.IOException("checkpoint " + c.id() + " of " + store.configMapName()
            + " holds a " + (o == null ? "null" : o.getClass().getName())
            + ", not a CompletedCheckpoint");
      }
      CompletedCheckpoint cp = (CompletedCheckpoint) o;
      if (cp.getCheckpointID() != c.id()) {
        throw new java.io.IOException("entry of checkpoint " + c.id() + " of "
            + store.configMapName() + " holds checkpoint " + cp.getCheckpointID());
      }
      out.add(cp);
    }
    LOG.info("recovered {} checkpoint(s) from {}", out.size(), store.configMapName());
    return out;
  }

  static <T> T join(java.util.concurrent.CompletableFuture<T> f) throws Exception {
    try {
      return f.join();
    } catch (CompletionException e) {
      throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
    }
  }

  @Override
  public synchronized CompletedCheckpoint addCheckpointAndSubsumeOldestOne(
      CompletedCheckpoint checkpoint, CheckpointsCleaner cleaner, Runnable postCleanup)
      throws Exception {
    if (!running) {
      throw new IllegalStateException("the checkpoint store is shut down");
    }
    List<CompletedCheckpoint> retire = Subsumption.retired(retained, checkpoint, maxRetained);
    long[] ids = retire.stream().mapToLong(CompletedCheckpoint::getCheckpointID).toArray();
    if (flinkFormat == null) {
      byte[] bytes = InstantiationUtil.serializeObject(checkpoint);
      try {
        join(store.get().add(checkpoint.getCheckpointID(), bytes, ids));
      } catch (K8shaException e) {
        throw unknownOutcome(checkpoint, e);
      }
    } else {
      // Flink's own format: Flink's writer puts the blob, the entry is Flink's handle of it
      RetrievableStateHandle<CompletedCheckpoint> blob = flinkBlobs.store(checkpoint);
      try {
        join(store.get().addPointer(checkpoint.getCheckpointID(), flinkFormat.pointer(blob),
            ids));
      } catch (Exception e) {
        if (e instanceof K8shaException && ((K8shaException) e).isUnknownOutcome()) {
          throw unknownOutcome(checkpoint, (K8shaException) e); // (the entry may name the blob)
        }
        try {
          blob.discardState(); // nothing names it
        } catch (Exception d) {
          e.addSuppressed(d);
        }
        throw e;
      }
    }
    retained.addLast(checkpoint);
    CompletedCheckpoint last = null;
    for (CompletedCheckpoint c : retire) {
      retained.remove(c);
      try {
        cleaner.addSubsumedCheckpoint(c);
      } catch (Exception e) {
        LOG.warn("could not hand subsumed checkpoint {} to the cleaner", c.getCheckpointID(), e);
      }
      if (last == null || c.getCheckpointID() > last.getCheckpointID()) {
        last = c;
      }
    }
    findLowest(retained).ifPresent(id -> cleaner.cleanSubsumedCheckpoints(id,
        getSharedStateRegistry().unregisterUnusedState(id), postCleanup, ioExecutor));
    return last;
  }

  /** An unknown outcome as Flink's PossibleInconsistentStateException; anything else as is. */
  private static Exception unknownOutcome(CompletedCheckpoint checkpoint, K8shaException e) {
    if (e.isUnknownOutcome()) {
      return new PossibleInconsistentStateException(
          "checkpoint " + checkpoint.getCheckpointID() + " may or may not have been added", e);
    }
    return e;
  }

  @Override
  public synchronized List<CompletedCheckpoint> getAllCheckpoints() {
    return new ArrayList<>(retained);
  }

  @Override
  public synchronized int getNumberOfRetainedCheckpoints() {
    return retained.size();
  }

  @Override
  public int getMaxNumberOfRetainedCheckpoints() {
    return maxRetained;
  }

  @Override
  public boolean requiresExternalizedCheckpoints() {
    return true;
  }

  @Override
  public synchronized void shutdown(org.apache.flink.api.common.JobStatus status,
      CheckpointsCleaner cleaner) throws Exception {
    super.shutdown(status, cleaner);
    if (!running) {
      return;
    }
    running = false;
    store.retire();
    try {
      if (status.isGloballyTerminalState()) {
        long lowestKept = Long.MAX_VALUE;
        // the pointers go first (one store call), then Flink discards what it should
        join(store.get().shutdown(JobStatus.GLOBALLY_TERMINAL));
        for (CompletedCheckpoint c : retained) {
          boolean discard = c.shouldBeDiscardedOnShutdown(status);
          if (!discard) {
            lowestKept = Math.min(lowestKept, c.getCheckpointID());
          }
          cleaner.cleanCheckpoint(c, discard, () -> {}, ioExecutor);
        }
        cleaner.cleanSubsumedCheckpoints(lowestKept,
            getSharedStateRegistry().unregisterUnusedState(lowestKept), () -> {}, ioExecutor);
      }
      retained.clear();
    } finally {
      store.release();
    }
  }
}
