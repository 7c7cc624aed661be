package io.libk8sha.flink;

import java.io.Serializable;
import java.lang.reflect.Constructor;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.IllegalConfigurationException;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.highavailability.HighAvailabilityServicesUtils;
import org.apache.flink.runtime.persistence.filesystem.FileSystemStateStorageHelper;
import org.apache.flink.runtime.state.RetrievableStateHandle;
import org.apache.flink.util.InstantiationUtil;

/**
 * Pointers in Flink's own format ({@code libk8sha.flink.pointer-format: flink}): each state goes
 * to a blob written by Flink's own {@link FileSystemStateStorageHelper} under Flink's HA storage
 * path, and the ConfigMap entry is Flink's own serialized handle of it (the
 * {@code StateHandleWithDeleteMarker} of Flink's Kubernetes state handle store), byte for byte
 * what Flink's own HA writes, so that a cluster can go back to Flink's own Kubernetes HA and
 * recover. Needs Flink's flink-kubernetes classes (they come with Flink's distribution).
 */
final class FlinkPointers {
  /** The option, under libk8sha's prefix, and its values. */
  static final String OPTION = FlinkConfiguration.PREFIX + "flink.pointer-format";

  private static final String MARKER =
      "org.apache.flink.kubernetes.highavailability.KubernetesStateHandleStore"
          + "$StateHandleWithDeleteMarker";

  private final Constructor<?> wrap;
  private final Path root;

  private FlinkPointers(Constructor<?> wrap, Path root) {
    this.wrap = wrap;
    this.root = root;
  }

  /** The pointer format the configuration asks for: null for libk8sha's own. */
  static FlinkPointers of(Configuration flink) {
    Map<String, String> all = flink.toMap();
    String format = all.getOrDefault(OPTION, "libk8sha").trim();
    if (format.equals("libk8sha")) {
      return null;
    }
    if (!format.equals("flink")) {
      throw new IllegalConfigurationException(OPTION + ": '" + format
          + "' is not a pointer format (libk8sha or flink)");
    }
    Constructor<?> c;
    try {
      c = Class.forName(MARKER, false, FlinkPointers.class.getClassLoader())
          .getDeclaredConstructor(RetrievableStateHandle.class);
      c.setAccessible(true);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalConfigurationException(OPTION + ": flink needs Flink's flink-kubernetes "
          + "classes (" + MARKER + "), which are not on the class path", e);
    }
    try {
      return new FlinkPointers(c,
          HighAvailabilityServicesUtils.getClusterHighAvailableStoragePath(flink));
    } catch (RuntimeException e) {
      throw new IllegalConfigurationException(OPTION + ": Flink's HA storage path: "
          + e.getMessage(), e);
    }
  }

  /** Flink's writer of state blobs named {@code prefix}<random> (as Flink names them). */
  <T extends Serializable> FileSystemStateStorageHelper<T> storage(String prefix) {
    try {
      return new FileSystemStateStorageHelper<>(root, prefix);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The ConfigMap entry's bytes for a handle Flink's writer returned. */
  byte[] pointer(RetrievableStateHandle<?> handle) throws java.io.IOException {
    try {
      return InstantiationUtil.serializeObject(wrap.newInstance(handle));
    } catch (ReflectiveOperationException e) {
      throw new java.io.IOException("Flink's state handle could not be made", e);
    }
  }
}
