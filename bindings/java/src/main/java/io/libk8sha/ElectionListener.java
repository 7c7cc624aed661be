package io.libk8sha;

/**
 * What a contender is told, in order, on its context's event thread. Every method has an empty
 * default. An exception thrown here is logged and does not stop later events.
 */
public interface ElectionListener {
  /**
   * This contender leads. {@code session} is a fresh UUID for this term; {@code term} is the
   * fencing token (it grows with every change of leadership).
   */
  default void granted(String session, long term) {}

  /**
   * Leadership ended: {@code reason} is the code, e.g. {@link K8shaException#ENOTLEADER}
   * (someone else holds the lock), {@link K8shaException#ETIMEDOUT} (no renewal within the renew
   * deadline) or {@link K8shaException#ECANCELED} (stopped). Stop acting as leader: the stores
   * of this leadership already refuse every write.
   */
  default void revoked(int reason) {}

  /** The holder of the lock changed; null when nobody holds it. */
  default void leaderChanged(String identity) {}

  /** Something failed that the election retries by itself (forbidden, unavailable, ...). */
  default void error(K8shaException error) {}
}
