package io.libk8sha.flink;

import io.libk8sha.LogSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The library's log lines in Flink's log: logger {@code io.libk8sha.lib.MODULE} (election, kube,
 * watch, store, ...). The library produces lines up to the most detailed level enabled for
 * {@code io.libk8sha.lib}.
 */
final class Slf4jLogSink implements LogSink {
  static final String PREFIX = "io.libk8sha.lib";

  @Override
  public void log(Level level, String module, String message) {
    Logger log = LoggerFactory.getLogger(PREFIX + "." + module);
    switch (level) {
      case ERROR -> log.error(message);
      case WARN -> log.warn(message);
      case INFO -> log.info(message);
      default -> log.debug(message);
    }
  }

  /** The level the library should produce lines up to. */
  static Level level() {
    Logger log = LoggerFactory.getLogger(PREFIX);
    return log.isDebugEnabled() ? Level.DEBUG : log.isInfoEnabled() ? Level.INFO
        : log.isWarnEnabled() ? Level.WARN : Level.ERROR;
  }
}
