package io.libk8sha;

/**
 * Receives the library's log lines. Called on the context's loop thread: it must return quickly
 * and never block (hand the line to a logging framework, as the default does).
 */
@FunctionalInterface
public interface LogSink {
  /** The library's levels, most severe first. */
  enum Level { ERROR, WARN, INFO, DEBUG }

  /**
   * One line: {@code module} names the part of the library ("kube", "watch", "election", ...);
   * {@code message} never holds a token.
   */
  void log(Level level, String module, String message);

  /**
   * The default: {@code System.Logger} "io.libk8sha.MODULE" (ERROR, WARNING, INFO, DEBUG), which
   * the JDK routes to java.util.logging unless the application installs another finder.
   */
  static LogSink systemLogger() {
    return (level, module, message) -> {
      System.Logger.Level l = switch (level) {
        case ERROR -> System.Logger.Level.ERROR;
        case WARN -> System.Logger.Level.WARNING;
        case INFO -> System.Logger.Level.INFO;
        default -> System.Logger.Level.DEBUG;
      };
      System.getLogger("io.libk8sha." + module).log(l, message);
    };
  }
}
