package io.libk8sha;

/**
 * One recovered checkpoint: its id and state, or why it cannot be used (a damaged or missing
 * blob is reported with its id, never skipped silently).
 */
public final class Checkpoint {
  private final long id;
  private final int status;
  private final String message;
  private final byte[] data;
  private final boolean isPointer;

  Checkpoint(long id, int status, String message, byte[] data, boolean isPointer) {
    this.id = id;
    this.status = status;
    this.message = message;
    this.data = data;
    this.isPointer = isPointer;
  }

  /** The checkpoint id. */
  public long id() {
    return id;
  }

  /** Whether its state was read and verified. */
  public boolean isIntact() {
    return status == 0;
  }

  /**
   * Why it cannot be used ({@link K8shaException#ECORRUPT}, {@link K8shaException#ENOTFOUND}
   * for a missing blob, or a storage error), or null when intact.
   */
  public K8shaException failure() {
    return status == 0 ? null : new K8shaException(status, message);
  }

  /**
   * The state (or the pointer bytes the host encoded itself, see {@link #isPointer()}).
   *
   * @throws K8shaException when the checkpoint is not intact
   */
  public byte[] state() {
    if (status != 0) {
      throw failure();
    }
    return data.clone();
  }

  /** Whether it was added with {@link CheckpointStore#addPointer}. */
  public boolean isPointer() {
    return isPointer;
  }

  @Override
  public String toString() {
    return "checkpoint " + id + (status == 0 ? "" : " (" + message + ")");
  }
}
