package io.libk8sha.flink;

import java.nio.file.Path;
import java.util.Collections;
import org.apache.flink.api.common.JobID;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.CheckpointProperties;
import org.apache.flink.runtime.checkpoint.CheckpointRetentionPolicy;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.apache.flink.runtime.state.filesystem.FsCompletedCheckpointStorageLocation;

/** Completed checkpoints as Flink's CheckpointCoordinator makes them (no operator state). */
final class Checkpoints {
  enum Kind { CHECKPOINT, SAVEPOINT, SYNC_SAVEPOINT }

  private Checkpoints() {}

  static CheckpointProperties properties(Kind kind) {
    switch (kind) {
      case SAVEPOINT:
        return CheckpointProperties.forSavepoint(false, SavepointFormatType.CANONICAL);
      case SYNC_SAVEPOINT:
        return CheckpointProperties.forSyncSavepoint(false, true, SavepointFormatType.CANONICAL);
      default:
        return CheckpointProperties.forCheckpoint(
            CheckpointRetentionPolicy.NEVER_RETAIN_AFTER_TERMINATION);
    }
  }

  /** Checkpoint {@code id} of {@code job}, its (empty) location under {@code dir}. */
  static CompletedCheckpoint of(JobID job, long id, Kind kind, Path dir) {
    org.apache.flink.core.fs.Path chk =
        new org.apache.flink.core.fs.Path(dir.resolve("chk-" + id).toUri());
    FileStateHandle metadata =
        new FileStateHandle(new org.apache.flink.core.fs.Path(chk, "_metadata"), 0);
    return new CompletedCheckpoint(job, id, id * 10, id * 10 + 1, Collections.emptyMap(),
        Collections.emptyList(), properties(kind),
        new FsCompletedCheckpointStorageLocation(
            org.apache.flink.core.fs.local.LocalFileSystem.getSharedInstance(), chk, metadata,
            chk.toString()),
        null);
  }
}
