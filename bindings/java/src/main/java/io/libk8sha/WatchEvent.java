package io.libk8sha;

/** One change to a watched ConfigMap, or the watch's own news (synced, an error). */
public final class WatchEvent {
  /** What happened. */
  public enum Type {
    /** A ConfigMap appeared (also: found by the first list). */
    ADDED,
    /** A ConfigMap changed. */
    MODIFIED,
    /** A ConfigMap went. */
    DELETED,
    /** Everything up to a full list was delivered (at the start, after a re-list). */
    SYNCED,
    /** Something failed; the watch keeps retrying with backoff. */
    ERROR
  }

  private final Type type;
  private final String name;
  private final String resourceVersion;
  private final String objectJson;
  private final String oldObjectJson;
  private final K8shaException error;

  WatchEvent(int type, String name, String resourceVersion, String objectJson,
      String oldObjectJson, int err, String message) {
    Type[] all = Type.values();
    this.type = type >= 1 && type <= all.length ? all[type - 1] : Type.ERROR;
    this.name = name;
    this.resourceVersion = resourceVersion;
    this.objectJson = objectJson;
    this.oldObjectJson = oldObjectJson;
    this.error = err != 0 ? new K8shaException(err, message) : null;
  }

  public Type type() {
    return type;
  }

  /** The ConfigMap's name (ADDED, MODIFIED, DELETED), else null. */
  public String name() {
    return name;
  }

  /** Its resourceVersion, else null. */
  public String resourceVersion() {
    return resourceVersion;
  }

  /** The ConfigMap as compact JSON (the last known state when DELETED), else null. */
  public String objectJson() {
    return objectJson;
  }

  /** Its previous state (MODIFIED, DELETED), else null. */
  public String oldObjectJson() {
    return oldObjectJson;
  }

  /** What went wrong (ERROR), else null. */
  public K8shaException error() {
    return error;
  }

  @Override
  public String toString() {
    return type + (name != null ? " " + name : "") + (error != null ? " " + error.getMessage() : "");
  }
}
