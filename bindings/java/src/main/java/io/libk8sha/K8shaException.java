package io.libk8sha;

/**
 * A libk8sha error: the library's code ({@code K8SHA_E*}, negative), its name and the message
 * that goes with it (naming the ConfigMap, key, blob or server answer concerned).
 *
 * <p>A write completes with exactly one of: success; a definite failure (nothing committed); or
 * an unknown outcome ({@link #isUnknownOutcome()}: the request was sent and no answer came, it may
 * have landed; recover before deciding).
 */
public class K8shaException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** K8SHA_EINVAL: an argument was invalid. */
  public static final int EINVAL = -1;
  /** K8SHA_ENOTFOUND: no such object or entry. */
  public static final int ENOTFOUND = -6;
  /** K8SHA_EEXISTS: a different entry under that key. */
  public static final int EEXISTS = -7;
  /** K8SHA_ECONFLICT: still conflicting after the configured retries. */
  public static final int ECONFLICT = -8;
  /** K8SHA_ENOTLEADER: this process does not lead (any more); the write was fenced. */
  public static final int ENOTLEADER = -9;
  /** K8SHA_ETIMEDOUT: a request or wait passed its deadline. */
  public static final int ETIMEDOUT = -13;
  /** K8SHA_ECANCELED: cancelled, by a stop or a close. */
  public static final int ECANCELED = -14;
  /** K8SHA_ECORRUPT: a pointer, record or blob failed its checks. */
  public static final int ECORRUPT = -16;
  /** K8SHA_EUNKNOWN_OUTCOME: the write was sent and no answer came. */
  public static final int EUNKNOWN_OUTCOME = -17;
  /** K8SHA_EBUSY: the object is in use (for example already started). */
  public static final int EBUSY = -24;

  private final int code;

  /** An exception for {@code code} with the library's message. */
  public K8shaException(int code, String message) {
    super(Native.errName(code) + ": " + message);
    this.code = code;
  }

  /** The library's code (negative). */
  public int code() {
    return code;
  }

  /** The code's name, such as {@code K8SHA_ENOTLEADER}. */
  public String codeName() {
    return Native.errName(code);
  }

  /** The write may or may not have been committed: re-read (recover) before deciding. */
  public boolean isUnknownOutcome() {
    return code == EUNKNOWN_OUTCOME;
  }

  /** This process does not lead (any more): stop acting as leader. */
  public boolean isNotLeader() {
    return code == ENOTLEADER;
  }
}
