package io.libk8sha.flink;

import java.util.concurrent.Executor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.blob.BlobUtils;
import org.apache.flink.runtime.highavailability.FileSystemApplicationResultStore;
import org.apache.flink.runtime.highavailability.FileSystemJobResultStore;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.highavailability.HighAvailabilityServicesFactory;

/**
 * Flink's extension point for libk8sha: {@code high-availability.type:
 * io.libk8sha.flink.K8shaHaServicesFactory}. Reads Flink's own Kubernetes HA keys (see
 * docs/flink.md), plus libk8sha's options under {@code libk8sha.}; blobs go through Flink's
 * FileSystem, so every scheme Flink serves works for {@code high-availability.storageDir}.
 * Writes Flink 2.x's layout ({@code libk8sha.flink-layout: 2.x} unless set otherwise).
 */
public final class K8shaHaServicesFactory implements HighAvailabilityServicesFactory {
  @Override
  public HighAvailabilityServices createHAServices(Configuration configuration,
      Executor executor) throws Exception {
    Configuration config = new Configuration(configuration);
    if (!config.toMap().containsKey(FlinkConfiguration.PREFIX + "flink-layout")) {
      config.setString(FlinkConfiguration.PREFIX + "flink-layout", "2.x");
    }
    HaParts parts = HaParts.create(config);
    try {
      return new K8shaHaServices(configuration, executor,
          BlobUtils.createBlobStoreFromConfig(configuration),
          FileSystemJobResultStore.fromConfiguration(configuration, executor),
          FileSystemApplicationResultStore.fromConfiguration(configuration, executor), parts);
    } catch (Exception | Error e) {
      parts.close();
      throw e;
    }
  }
}
