package io.libk8sha;

/** What the shim calls with each log line of a context (on its loop thread). */
final class LogBridge {
  private static final LogSink.Level[] LEVELS = LogSink.Level.values();
  private final LogSink sink;

  LogBridge(LogSink sink) {
    this.sink = sink;
  }

  void log(int level, String module, String message) {
    try {
      sink.log(LEVELS[Math.min(Math.max(level, 0), LEVELS.length - 1)], module, message);
    } catch (RuntimeException e) {
      // (a failing sink loses its line, nothing else)
    }
  }
}
