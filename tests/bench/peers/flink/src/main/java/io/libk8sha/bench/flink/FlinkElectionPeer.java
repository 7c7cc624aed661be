package io.libk8sha.bench.flink;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.kubernetes.kubeclient.FlinkKubeClient;
import org.apache.flink.kubernetes.kubeclient.KubernetesSharedWatcher;
import org.apache.flink.kubernetes.kubeclient.resources.KubernetesConfigMap;
import org.apache.flink.kubernetes.kubeclient.resources.KubernetesLeaderElector;
import org.apache.flink.runtime.leaderelection.LeaderContender;
import org.apache.flink.runtime.leaderelection.LeaderElection;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A leader-election contender made of Flink 1.20's own Kubernetes HA classes, for
 * tests/bench/election_bench.py (see {@link FlinkHa} for the wiring). It registers the components
 * a JobManager registers with its HA services ({@code resourcemanager}, {@code dispatcher},
 * {@code restserver}; {@code --components} changes the list) on one
 * {@code DefaultLeaderElectionService}, whose single {@code KubernetesLeaderElectionDriver} holds
 * the lock {@code <cluster-id>-cluster-config-map} under {@code --identity}. Each component
 * confirms its leadership with an address, which Flink publishes into that ConfigMap.
 *
 * <p>Lines on stdout, each prefixed by the wall clock in ms:
 *
 * <pre>
 *   granted ID        the components were granted leadership (once per leader session)
 *   published         every component's confirmed address is written to the ConfigMap
 *   revoked           leadership was revoked (once per session)
 *   leader HOLDER|-   the holder in the ConfigMap's control-plane.alpha.kubernetes.io/leader
 *                     annotation changed, as delivered by the HA services' shared ConfigMap
 *                     informer (the one Flink's driver and leader retrievers watch; a callback
 *                     on it costs no request); "-" for an empty holder or no ConfigMap
 *   stopped           SIGTERM: the components' leader elections and then the HA services were
 *                     closed as a JobManager closes them on shutdown; the process exits 0
 * </pre>
 *
 * A fatal error from Flink (a contender's handleError) is printed on stderr and ends the process
 * at once with status 2, as a JobManager's fatal error handler does.
 *
 * <pre>
 *   FlinkElectionPeer --kubeconfig KC --namespace NS --cluster-id CID --identity ID
 *       [--lease SEC (15)] [--renew SEC (10)] [--retry SEC (5)]
 *       [--components resourcemanager,dispatcher,restserver]
 * </pre>
 */
public final class FlinkElectionPeer {
  static final String USAGE = "FlinkElectionPeer --kubeconfig KC --namespace NS --cluster-id CID"
      + " --identity ID [--lease SEC] [--renew SEC] [--retry SEC] [--components A,B,...]";

  private FlinkElectionPeer() {}

  public static void main(String[] argv) {
    try {
      run(argv);
    } catch (Args.UsageException e) {
      System.err.println(e.getMessage());
      Runtime.getRuntime().halt(2);
    } catch (Throwable t) {
      t.printStackTrace();
      Runtime.getRuntime().halt(1);
    }
  }

  private static void run(String[] argv) throws Exception {
    Args a = new Args("FlinkElectionPeer", USAGE, argv, "kubeconfig", "namespace", "cluster-id",
        "identity", "lease", "renew", "retry", "components");
    String identity = a.get("identity");
    Configuration conf = FlinkHa.configuration(a.get("kubeconfig"), a.get("namespace"),
        a.get("cluster-id"), a.millis("lease", "15"), a.millis("renew", "10"),
        a.millis("retry", "5"), null);
    String[] components = a.get("components", "resourcemanager,dispatcher,restserver").split(",");

    FlinkHa ha = new FlinkHa(conf, identity);
    KubernetesSharedWatcher.Watch observer =
        ha.clusterConfigMapWatcher.watch(ha.clusterConfigMap, new HolderPrinter(), null);
    Leadership leadership = new Leadership(identity, components.length);
    List<LeaderElection> elections = new ArrayList<>();
    for (String component : components) {
      LeaderElection election = ha.leaderElectionService.createLeaderElection(component);
      elections.add(election);
    }

    // SIGTERM: what a JobManager's shutdown does with its HA services. Its components stop
    // first, each closing its LeaderElection (the last one closes the driver: the elector stops
    // and, with fabric8's releaseOnCancel, writes an empty holder if it still leads); then the
    // HA services close (leader election service, shared informer, watch executor, client).
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      int status = 0;
      try {
        for (int i = elections.size() - 1; i >= 0; i--) {
          elections.get(i).close();
        }
        observer.close();
        ha.close();
      } catch (Throwable t) {
        t.printStackTrace();
        status = 1;
      }
      Out.line("stopped");
      Runtime.getRuntime().halt(status);
    }, "shutdown"));

    for (int i = 0; i < components.length; i++) {
      elections.get(i).startLeaderElection(
          new Component(components[i], address(components[i], identity, i), elections.get(i),
              leadership));
    }
    new CountDownLatch(1).await(); // until SIGTERM (the shutdown hook) or SIGKILL
  }

  /** Addresses in the shape a JobManager confirms them (RPC endpoints, the REST URL). */
  private static String address(String component, String host, int index) {
    if (component.equals("restserver")) {
      return "http://" + host + ":8081";
    }
    return "pekko.tcp://flink@" + host + ":6123/user/rpc/" + component + "_" + index;
  }

  /** One line per leader session, whichever component hears of it first. */
  private static final class Leadership {
    private final String identity;
    private final int components;
    private UUID session;
    private int confirmed;

    Leadership(String identity, int components) {
      this.identity = identity;
      this.components = components;
    }

    synchronized void granted(UUID s) {
      if (!s.equals(session)) {
        session = s;
        confirmed = 0;
        Out.line("granted " + identity);
      }
    }

    synchronized void confirmed(UUID s) {
      if (s.equals(session) && ++confirmed == components) {
        Out.line("published");
      }
    }

    synchronized void revoked() {
      if (session != null) {
        session = null;
        Out.line("revoked");
      }
    }
  }

  /** A JobManager component's part: confirm each grant with its address. */
  private static final class Component implements LeaderContender {
    private final String name;
    private final String address;
    private final LeaderElection election;
    private final Leadership leadership;

    Component(String name, String address, LeaderElection election, Leadership leadership) {
      this.name = name;
      this.address = address;
      this.election = election;
      this.leadership = leadership;
    }

    @Override
    public void grantLeadership(UUID session) {
      leadership.granted(session);
      election.confirmLeadershipAsync(session, address).whenComplete((v, t) -> {
        if (t == null) {
          leadership.confirmed(session);
        } else {
          System.err.println(name + ": confirming leadership failed: " + t);
        }
      });
    }

    @Override
    public void revokeLeadership() {
      leadership.revoked();
    }

    @Override
    public void handleError(Exception e) {
      System.err.println(System.currentTimeMillis() + " fatal error in " + name + ":");
      e.printStackTrace();
      System.err.flush();
      Runtime.getRuntime().halt(2);
    }
  }

  /** Prints the lock's holder whenever the shared informer delivers a different one. */
  private static final class HolderPrinter
      implements FlinkKubeClient.WatchCallbackHandler<KubernetesConfigMap> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private String last; // null: nothing seen yet

    @Override
    public void onAdded(List<KubernetesConfigMap> maps) {
      maps.forEach(this::seen);
    }

    @Override
    public void onModified(List<KubernetesConfigMap> maps) {
      maps.forEach(this::seen);
    }

    @Override
    public void onDeleted(List<KubernetesConfigMap> maps) {
      show("-");
    }

    @Override
    public void onError(List<KubernetesConfigMap> maps) {}

    @Override
    public void handleError(Throwable t) {
      System.err.println("the ConfigMap informer reported: " + t);
    }

    private void seen(KubernetesConfigMap cm) {
      Map<String, String> ann = cm.getAnnotations();
      String record = ann == null ? null : ann.get(KubernetesLeaderElector.LEADER_ANNOTATION_KEY);
      String holder = "-";
      if (record != null) {
        try {
          String h = JSON.readTree(record).path("holderIdentity").asText("");
          holder = h.isEmpty() ? "-" : h;
        } catch (Exception e) {
          holder = "?";
        }
      }
      show(holder);
    }

    private synchronized void show(String holder) {
      if (!Objects.equals(holder, last)) {
        last = holder;
        Out.line("leader " + holder);
      }
    }
  }
}
