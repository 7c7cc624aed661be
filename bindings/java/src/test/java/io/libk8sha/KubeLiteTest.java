package io.libk8sha;

import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** A test class with one API server for all its tests (see {@link KubeLite}). */
public abstract class KubeLiteTest {
  /** The bound of every wait in the tests: a failure bound, never a timing. */
  public static final Duration BOUND = Duration.ofSeconds(60);

  protected static KubeLite server;

  @BeforeAll
  static void startServer() throws Exception {
    server = KubeLite.start();
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }
}
