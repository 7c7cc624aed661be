package io.libk8sha;

/** One thing a cleanup deleted (or, in a dry run, would delete), or an orphan scan found. */
public final class Found {
  /** What it is. */
  public enum Kind {
    /** A ConfigMap: its name. */
    CONFIGMAP,
    /** A key of a ConfigMap: "CONFIGMAP/KEY". */
    ENTRY,
    /** A blob: its URI. */
    BLOB,
    /** An entry whose pointer cannot be read (kept, with its blob): "CONFIGMAP/KEY: why". */
    UNREADABLE,
    /** A blob no pointer names: its URI. */
    ORPHAN_BLOB,
    /** An HA ConfigMap no job or lock uses: its name. */
    ORPHAN_CONFIGMAP
  }

  private final Kind kind;
  private final String name;

  Found(int kind, String name) {
    Kind[] all = Kind.values();
    this.kind = kind >= 0 && kind < all.length ? all[kind] : Kind.UNREADABLE;
    this.name = name;
  }

  public Kind kind() {
    return kind;
  }

  public String name() {
    return name;
  }

  @Override
  public String toString() {
    return kind + " " + name;
  }
}
