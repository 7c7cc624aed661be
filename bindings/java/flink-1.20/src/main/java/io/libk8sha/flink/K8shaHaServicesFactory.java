package io.libk8sha.flink;

import io.libk8sha.Config;
import io.libk8sha.Context;
import java.util.concurrent.Executor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.blob.BlobStoreService;
import org.apache.flink.runtime.blob.BlobUtils;
import org.apache.flink.runtime.highavailability.FileSystemJobResultStore;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.highavailability.HighAvailabilityServicesFactory;
import org.apache.flink.runtime.highavailability.JobResultStore;

/**
 * Flink's extension point for libk8sha: {@code high-availability.type:
 * io.libk8sha.flink.K8shaHaServicesFactory}. Reads Flink's own Kubernetes HA keys (see
 * docs/flink.md), plus libk8sha's options under {@code libk8sha.}; blobs go through Flink's
 * FileSystem, so every scheme Flink serves works for {@code high-availability.storageDir}.
 */
public final class K8shaHaServicesFactory implements HighAvailabilityServicesFactory {
  @Override
  public HighAvailabilityServices createHAServices(Configuration configuration,
      Executor executor) throws Exception {
    Context ctx;
    String scheme;
    FlinkPointers flinkFormat = FlinkPointers.of(configuration); // (checked before anything runs)
    try (Config config = FlinkConfiguration.of(configuration)) {
      scheme = FlinkConfiguration.scheme(config.storageDir());
      ctx = new Context(config, new Slf4jLogSink(), Slf4jLogSink.level());
    }
    try {
      ctx.registerStorage(new FlinkFileSystemBackend(scheme));
      BlobStoreService blobs = BlobUtils.createBlobStoreFromConfig(configuration);
      JobResultStore results = FileSystemJobResultStore.fromConfiguration(configuration, executor);
      return new K8shaHaServices(configuration, executor, blobs, results, ctx,
          new K8shaLeaderElectionDriverFactory(ctx, null), flinkFormat);
    } catch (Exception | Error e) {
      ctx.close();
      throw e;
    }
  }
}
