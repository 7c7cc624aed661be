package io.libk8sha.flink;

import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;

/**
 * Which retained checkpoints an add retires, by Flink's rules for its completed-checkpoint
 * stores: beyond num-retained the oldest go first, savepoints count like checkpoints and may go
 * from the middle, the newest entry always stays, and so does the newest checkpoint that is not
 * a savepoint (later incremental checkpoints may build on its state) unless the newest entry is a
 * synchronous savepoint (the job stops: nothing will build on it). The decision is computed
 * before the add, so that the ConfigMap update that adds the new checkpoint also retires exactly
 * what Flink's in-memory view drops.
 */
final class Subsumption {
  private Subsumption() {}

  /**
   * The checkpoints to retire once {@code added} joins {@code retained} (oldest first, not
   * modified), keeping at most {@code numRetain} where the rules allow.
   */
  static List<CompletedCheckpoint> retired(Deque<CompletedCheckpoint> retained,
      CompletedCheckpoint added, int numRetain) {
    List<CompletedCheckpoint> all = new ArrayList<>(retained);
    all.add(added);
    List<CompletedCheckpoint> out = new ArrayList<>();
    int size = all.size();
    if (size <= numRetain) {
      return out;
    }
    CompletedCheckpoint newestNonSavepoint = null;
    for (int i = all.size() - 1; i >= 0 && newestNonSavepoint == null; i--) {
      if (!all.get(i).getProperties().isSavepoint()) {
        newestNonSavepoint = all.get(i);
      }
    }
    boolean stopping = added.getProperties().isSynchronous();
    for (Iterator<CompletedCheckpoint> it = all.iterator(); size > numRetain && it.hasNext(); ) {
      CompletedCheckpoint c = it.next();
      boolean goes = c != added
          && (c.getProperties().isSavepoint() || stopping
              || (newestNonSavepoint != null && c != newestNonSavepoint));
      if (goes) {
        out.add(c);
        size--;
      }
    }
    return out;
  }
}
