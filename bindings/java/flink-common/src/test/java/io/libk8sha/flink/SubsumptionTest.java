package io.libk8sha.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Random;
import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.checkpoint.CheckpointsCleaner;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.StandaloneCompletedCheckpointStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkpoints an add retires are exactly those Flink's own completed-checkpoint store
 * drops, over random sequences of checkpoints, savepoints and stop-with-savepoints.
 */
class SubsumptionTest {
  @TempDir Path dir;

  @Test
  void retiresWhatFlinksOwnStoreDrops() throws Exception {
    Checkpoints.Kind[] kinds = Checkpoints.Kind.values();
    for (int seed = 1; seed <= 300; seed++) {
      Random random = new Random(seed);
      int retain = 1 + random.nextInt(4);
      JobID job = new JobID(seed, seed);
      StandaloneCompletedCheckpointStore flink = new StandaloneCompletedCheckpointStore(retain);
      ArrayDeque<CompletedCheckpoint> ours = new ArrayDeque<>();
      CheckpointsCleaner cleaner = new CheckpointsCleaner();
      for (long id = 1; id <= 25; id++) {
        // mostly checkpoints, so that runs of savepoints both happen and end
        Checkpoints.Kind kind = random.nextInt(3) == 0 ? kinds[1 + random.nextInt(2)]
            : Checkpoints.Kind.CHECKPOINT;
        CompletedCheckpoint c = Checkpoints.of(job, id, kind, dir);
        List<CompletedCheckpoint> retired = Subsumption.retired(ours, c, retain);
        ours.addLast(c);
        ours.removeAll(retired);
        flink.addCheckpointAndSubsumeOldestOne(Checkpoints.of(job, id, kind, dir), cleaner,
            () -> {});
        assertEquals(ids(flink.getAllCheckpoints()), ids(List.copyOf(ours)),
            "seed " + seed + ", retain " + retain + ", after " + kind + " " + id);
      }
    }
  }

  private static List<Long> ids(List<CompletedCheckpoint> list) {
    return list.stream().map(CompletedCheckpoint::getCheckpointID).toList();
  }
}
