package io.libk8sha.bench.flink;

import java.util.HashMap;
import java.util.Map;

/** {@code --name value} pairs; every name must be one the program knows. */
final class Args {
  private final String program;
  private final String usage;
  private final Map<String, String> values = new HashMap<>();

  Args(String program, String usage, String[] argv, String... known) {
    this.program = program;
    this.usage = usage;
    for (int i = 0; i < argv.length; i += 2) {
      String name = argv[i];
      boolean ok = name.startsWith("--") && i + 1 < argv.length;
      if (ok) {
        ok = false;
        for (String k : known) {
          ok |= k.equals(name.substring(2));
        }
      }
      if (!ok) {
        throw new UsageException(program + ": bad argument " + name + "\nusage: " + usage);
      }
      values.put(name.substring(2), argv[i + 1]);
    }
  }

  String get(String name) {
    String v = values.get(name);
    if (v == null) {
      throw new UsageException(program + ": --" + name + " is required\nusage: " + usage);
    }
    return v;
  }

  String get(String name, String dflt) {
    return values.getOrDefault(name, dflt);
  }

  int getInt(String name, String dflt) {
    return Integer.parseInt(get(name, dflt));
  }

  /** Seconds (fractions allowed) as whole milliseconds. */
  long millis(String name, String dflt) {
    return Math.round(Double.parseDouble(get(name, dflt)) * 1000);
  }

  static final class UsageException extends RuntimeException {
    UsageException(String m) {
      super(m);
    }
  }
}
