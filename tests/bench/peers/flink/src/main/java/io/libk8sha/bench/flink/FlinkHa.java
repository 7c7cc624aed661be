package io.libk8sha.bench.flink;

import java.io.File;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.HighAvailabilityOptions;
import org.apache.flink.kubernetes.configuration.KubernetesConfigOptions;
import org.apache.flink.kubernetes.configuration.KubernetesHighAvailabilityOptions;
import org.apache.flink.kubernetes.configuration.KubernetesLeaderElectionConfiguration;
import org.apache.flink.kubernetes.highavailability.KubernetesLeaderElectionDriverFactory;
import org.apache.flink.kubernetes.kubeclient.FlinkKubeClient;
import org.apache.flink.kubernetes.kubeclient.FlinkKubeClientFactory;
import org.apache.flink.kubernetes.kubeclient.KubernetesConfigMapSharedWatcher;
import org.apache.flink.runtime.leaderelection.DefaultLeaderElectionService;
import org.apache.flink.util.ExecutorUtils;
import org.apache.flink.util.concurrent.ExecutorThreadFactory;

/**
 * The leader-election half of Flink 1.20's Kubernetes HA services, built from Flink's own classes
 * as {@code KubernetesLeaderElectionHaServices} builds them (its constructor is not public, and it
 * names the lock after a random UUID, where a benchmark contender needs its own identity):
 *
 * <ul>
 *   <li>one {@link FlinkKubeClient} from {@link FlinkKubeClientFactory} (use case
 *       {@code kubernetes-ha-services}, as {@code KubernetesHaServicesFactory} asks for);
 *   <li>one {@link KubernetesConfigMapSharedWatcher} (a shared informer) on
 *       {@code <cluster-id>-cluster-config-map}, and a cached thread pool
 *       {@code config-map-watch-handler} for its callbacks;
 *   <li>a {@link KubernetesLeaderElectionDriverFactory} over a
 *       {@link KubernetesLeaderElectionConfiguration} (that ConfigMap, the lock identity, the
 *       configuration's lease timing);
 *   <li>one {@link DefaultLeaderElectionService} over that factory, as {@code AbstractHaServices}
 *       holds it: every component's {@code LeaderElection} comes from it and shares one driver,
 *       hence one lock.
 * </ul>
 *
 * {@link #close()} follows {@code AbstractHaServices.close()} then
 * {@code KubernetesLeaderElectionHaServices.internalClose()}; as in a JobManager, every
 * component's {@code LeaderElection} must have been closed before.
 */
final class FlinkHa {
  final Configuration conf;
  final String clusterId;
  final String clusterConfigMap;
  final String identity;
  final FlinkKubeClient kubeClient;
  final KubernetesConfigMapSharedWatcher clusterConfigMapWatcher;
  final ExecutorService watchExecutor;
  final DefaultLeaderElectionService leaderElectionService;

  FlinkHa(Configuration conf, String identity) {
    this.conf = conf;
    this.identity = identity;
    this.clusterId = conf.get(KubernetesConfigOptions.CLUSTER_ID);
    this.clusterConfigMap = clusterId + "-cluster-config-map";
    this.kubeClient =
        FlinkKubeClientFactory.getInstance().fromConfiguration(conf, "kubernetes-ha-services");
    this.clusterConfigMapWatcher = kubeClient.createConfigMapSharedWatcher(clusterConfigMap);
    this.watchExecutor =
        Executors.newCachedThreadPool(new ExecutorThreadFactory("config-map-watch-handler"));
    KubernetesLeaderElectionConfiguration election =
        new KubernetesLeaderElectionConfiguration(clusterConfigMap, identity, conf);
    this.leaderElectionService = new DefaultLeaderElectionService(
        new KubernetesLeaderElectionDriverFactory(
            kubeClient, election, clusterConfigMapWatcher, watchExecutor));
  }

  /** The job's ConfigMap, named as {@code KubernetesLeaderElectionHaServices} names it. */
  String jobConfigMap(org.apache.flink.api.common.JobID job) {
    return clusterId + "-" + job + "-config-map";
  }

  /**
   * A configuration as a JobManager's would carry it for Kubernetes HA: cluster id, namespace,
   * kubeconfig, {@code high-availability.type: kubernetes}, the lease timing and, when given, the
   * HA storage directory. {@code high-availability.cluster-id} is the cluster id, as Flink's
   * {@code KubernetesClusterDescriptor} sets it on deployment (the HA files then go under
   * {@code <storage>/<cluster-id>}).
   */
  static Configuration configuration(String kubeconfig, String namespace, String clusterId,
      long leaseMs, long renewMs, long retryMs, File storageDir) {
    Configuration c = new Configuration();
    c.set(KubernetesConfigOptions.KUBE_CONFIG_FILE, kubeconfig);
    c.set(KubernetesConfigOptions.NAMESPACE, namespace);
    c.set(KubernetesConfigOptions.CLUSTER_ID, clusterId);
    c.set(HighAvailabilityOptions.HA_MODE, "kubernetes");
    c.set(HighAvailabilityOptions.HA_CLUSTER_ID, clusterId);
    c.set(KubernetesHighAvailabilityOptions.KUBERNETES_LEASE_DURATION, Duration.ofMillis(leaseMs));
    c.set(KubernetesHighAvailabilityOptions.KUBERNETES_RENEW_DEADLINE, Duration.ofMillis(renewMs));
    c.set(KubernetesHighAvailabilityOptions.KUBERNETES_RETRY_PERIOD, Duration.ofMillis(retryMs));
    if (storageDir != null) {
      c.set(HighAvailabilityOptions.HA_STORAGE_PATH, storageDir.getAbsoluteFile().toURI().toString());
    }
    return c;
  }

  void close() throws Exception {
    // AbstractHaServices.close(): (the blob store,) the leader election service, internalClose()
    leaderElectionService.close();
    // KubernetesLeaderElectionHaServices.internalClose()
    clusterConfigMapWatcher.close();
    watchExecutor.shutdownNow();
    kubeClient.close();
    ExecutorUtils.gracefulShutdown(5, TimeUnit.SECONDS, watchExecutor);
  }
}
