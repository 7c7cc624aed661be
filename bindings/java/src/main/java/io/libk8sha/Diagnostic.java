package io.libk8sha;

/** One finding about a configuration: where (file and line, when known), which key, what. */
public final class Diagnostic {
  /** How serious a finding is. */
  public enum Severity { ERROR, WARNING, NOTE }

  private final Severity severity;
  private final String file;
  private final int line;
  private final String key;
  private final String message;
  private final String text;

  Diagnostic(int severity, String file, int line, String key, String message, String text) {
    Severity[] all = Severity.values();
    this.severity = severity >= 0 && severity < all.length ? all[severity] : Severity.ERROR;
    this.file = file;
    this.line = line;
    this.key = key;
    this.message = message;
    this.text = text;
  }

  public Severity severity() {
    return severity;
  }

  /** The file the key came from, or null (an override, a default). */
  public String file() {
    return file;
  }

  /** The 1-based line in {@link #file()}, or 0 when unknown. */
  public int line() {
    return line;
  }

  /** The key concerned, or null. */
  public String key() {
    return key;
  }

  /** What is wrong or notable, without location. */
  public String message() {
    return message;
  }

  /** "FILE:LINE: key: message", ready to print. */
  @Override
  public String toString() {
    return text;
  }
}
