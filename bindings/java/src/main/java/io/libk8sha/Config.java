package io.libk8sha;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Flink configuration keys for libk8sha: files (flink-conf.yaml or config.yaml), then overrides,
 * then {@link #validate()} and {@link #resolveKube()}. A context copies what it needs, so the
 * configuration may be closed once the context exists. Calls on one configuration are serialised.
 */
public final class Config implements AutoCloseable {
  private long handle;

  /** An empty configuration. */
  public Config() {
    Native.init();
    handle = Native.configNew();
  }

  private long h() {
    if (handle == 0) {
      throw new IllegalStateException("the configuration is closed");
    }
    return handle;
  }

  /** Reads a Flink configuration file (later files and {@link #set} override earlier keys). */
  public synchronized Config loadFile(Path file) {
    try {
      Native.configLoadFile(h(), file.toString());
    } catch (K8shaException e) {
      throw refused(e.code(), "loading " + file);
    }
    return this;
  }

  /** Reads configuration YAML held in memory; {@code name} is used in diagnostics. */
  public synchronized Config loadString(String name, String yaml) {
    try {
      Native.configLoadString(h(), name, yaml);
    } catch (K8shaException e) {
      throw refused(e.code(), "loading " + name);
    }
    return this;
  }

  /** Sets one key, as {@code -D key=value} does for Flink. */
  public synchronized Config set(String key, String value) {
    Native.configSet(h(), key, value);
    return this;
  }

  /**
   * Allows a storage URI scheme beyond the built-in ones (file, s3, s3a, s3p, hdfs) in
   * {@code high-availability.storageDir}, for a backend registered with
   * {@link Context#registerStorage}. Call before {@link #validate()}.
   */
  public synchronized Config addStorageScheme(String scheme) {
    Native.configAddStorageScheme(h(), scheme);
    return this;
  }

  /** The raw value of a key as loaded or set, or null. */
  public synchronized String get(String key) {
    return Native.configGet(h(), key);
  }

  /**
   * Checks the high-availability keys.
   *
   * @throws ConfigException listing every problem, each with its key and (for a file) its line
   */
  public synchronized Config validate() {
    int rc = Native.configValidate(h());
    if (rc != 0) {
      throw refused(rc, "the configuration is refused");
    }
    return this;
  }

  /**
   * Resolves how to reach the Kubernetes API ({@code kubernetes.config.file}, the kubeconfig
   * files, or the in-cluster service account).
   *
   * @throws ConfigException naming what was tried and why it failed
   */
  public synchronized Config resolveKube() {
    int rc = Native.configResolveKube(h());
    if (rc != 0) {
      throw refused(rc, "the Kubernetes access cannot be resolved");
    }
    return this;
  }

  /** Every diagnostic recorded so far. */
  public synchronized List<Diagnostic> diagnostics() {
    return Arrays.asList(Native.configDiagnostics(h()));
  }

  /** {@code kubernetes.cluster-id} (after {@link #validate()}). */
  public synchronized String clusterId() {
    return Native.configValue(h(), 0);
  }

  /** {@code kubernetes.namespace} (after {@link #validate()}). */
  public synchronized String namespace() {
    return Native.configValue(h(), 1);
  }

  /** The storage directory as a normalised URI (after {@link #validate()}). */
  public synchronized String storageDir() {
    return Native.configValue(h(), 2);
  }

  /** The API server's URL (after {@link #resolveKube()}). */
  public synchronized String kubeServer() {
    return Native.configValue(h(), 3);
  }

  synchronized long handle() {
    return h();
  }

  private ConfigException refused(int code, String what) {
    return new ConfigException(code, what, diagnostics());
  }

  /** Frees the configuration; idempotent. */
  @Override
  public synchronized void close() {
    if (handle != 0) {
      Native.configFree(handle);
      handle = 0;
    }
  }
}
