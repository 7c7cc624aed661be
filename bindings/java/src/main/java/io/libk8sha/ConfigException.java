package io.libk8sha;

import java.util.List;
import java.util.stream.Collectors;

/** A configuration was refused: every problem found, each with its key and line. */
public final class ConfigException extends K8shaException {
  private static final long serialVersionUID = 1L;
  private final transient List<Diagnostic> diagnostics;

  ConfigException(int code, String what, List<Diagnostic> diagnostics) {
    super(code, what + (diagnostics.isEmpty() ? "" : ":\n" + diagnostics.stream()
        .filter(d -> d.severity() == Diagnostic.Severity.ERROR)
        .map(Diagnostic::toString).collect(Collectors.joining("\n"))));
    this.diagnostics = List.copyOf(diagnostics);
  }

  /** Every diagnostic recorded, errors and warnings. */
  public List<Diagnostic> diagnostics() {
    return diagnostics;
  }
}
