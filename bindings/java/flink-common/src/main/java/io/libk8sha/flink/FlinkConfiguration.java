package io.libk8sha.flink;

import io.libk8sha.Config;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;

/**
 * libk8sha's configuration from a Flink Configuration: Flink's own keys (the cluster id,
 * namespace, kubeconfig and context, storage directory, leader-election durations, retries,
 * num-retained) as Flink reads them, and libk8sha's own options under the prefix
 * {@value #PREFIX}. {@code high-availability.type} names this adapter's factory in Flink; for
 * the library it is Kubernetes HA.
 */
final class FlinkConfiguration {
  /** The prefix of libk8sha's own options in Flink's configuration. */
  static final String PREFIX = "libk8sha.";

  static final List<String> FLINK_KEYS = List.of(
      "high-availability.storageDir", "high-availability.cluster-id", "kubernetes.cluster-id",
      "kubernetes.namespace", "kubernetes.config.file", "kubernetes.context",
      "high-availability.kubernetes.leader-election.lease-duration",
      "high-availability.kubernetes.leader-election.renew-deadline",
      "high-availability.kubernetes.leader-election.retry-period",
      "kubernetes.transactional-operation.max-retries", "execution.checkpointing.num-retained",
      "state.checkpoints.num-retained");

  private static final List<String> BUILT_IN_SCHEMES = List.of("file", "s3", "s3a", "s3p", "hdfs");

  private FlinkConfiguration() {}

  /**
   * The storage directory as a URI with its scheme: Flink takes a path without one to be on the
   * local file system ({@code /ha} is {@code file:///ha}).
   */
  static String storageDir(Configuration flink) {
    String dir = flink.toMap().get("high-availability.storageDir");
    if (dir == null || dir.isBlank()) {
      return dir;
    }
    URI uri = URI.create(dir.trim());
    if (uri.getScheme() == null) {
      return "file://" + uri.getPath();
    }
    if ("file".equals(uri.getScheme()) && uri.getAuthority() == null) {
      return "file://" + uri.getPath(); // Flink's file:/x
    }
    return uri.toString();
  }

  /** The storage scheme (file when none is given). */
  static String scheme(String storageDir) {
    String s = storageDir == null ? null : URI.create(storageDir).getScheme();
    return s == null ? "file" : s;
  }

  /** A validated, resolved libk8sha configuration (ConfigException names what is wrong). */
  static Config of(Configuration flink) {
    Map<String, String> all = flink.toMap();
    Config c = new Config();
    try {
      for (String key : FLINK_KEYS) {
        String v = all.get(key);
        if (v != null) {
          c.set(key, v);
        }
      }
      for (Map.Entry<String, String> e : all.entrySet()) {
        if (e.getKey().startsWith(PREFIX)) {
          c.set(e.getKey(), e.getValue());
        }
      }
      c.set("high-availability.type", "kubernetes");
      String dir = storageDir(flink);
      if (dir != null) {
        c.set("high-availability.storageDir", dir);
        if (!BUILT_IN_SCHEMES.contains(scheme(dir))) {
          c.addStorageScheme(scheme(dir));
        }
      }
      return c.validate().resolveKube();
    } catch (RuntimeException e) {
      c.close();
      throw e;
    }
  }
}
