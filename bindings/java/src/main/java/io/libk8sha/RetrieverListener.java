package io.libk8sha;

/** What a retriever reports, in order, on its context's event thread. */
public interface RetrieverListener {
  /**
   * The leader of the component: its address and session, both null when there is none.
   * Reported once the lock has been read, then on every change.
   */
  void leader(String address, String session);

  /**
   * Something failed that the retriever retries by itself (the lock cannot be read or watched:
   * forbidden, unavailable...): the address last reported may be stale until the next report.
   */
  default void error(K8shaException error) {}
}
