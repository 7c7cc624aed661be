package io.libk8sha.bench.flink;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.core.fs.local.LocalFileSystem;
import org.apache.flink.kubernetes.highavailability.KubernetesCheckpointRecoveryFactory;
import org.apache.flink.kubernetes.kubeclient.resources.KubernetesConfigMap;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.runtime.checkpoint.CheckpointProperties;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.checkpoint.CheckpointRetentionPolicy;
import org.apache.flink.runtime.checkpoint.CheckpointsCleaner;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.leaderelection.LeaderContender;
import org.apache.flink.runtime.leaderelection.LeaderElection;
import org.apache.flink.runtime.state.SharedStateRegistry;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.apache.flink.runtime.state.filesystem.FsCompletedCheckpointStorageLocation;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;
import org.apache.flink.runtime.util.Hardware;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.util.concurrent.ExecutorThreadFactory;

/**
 * Flink 1.20's completed-checkpoint store and checkpoint ID counter over a job's ConfigMap, wired
 * as Flink's Kubernetes HA services wire them, committing checkpoints one after the other against
 * one API server (kube-lite, whose request statistics it reads). A benchmark, not a test.
 *
 * <p>The wiring: {@link FlinkHa} (Flink's kube client, shared ConfigMap informer and
 * {@code DefaultLeaderElectionService} over a {@code KubernetesLeaderElectionDriverFactory}); the
 * process first leads the job the way a JobMaster does, through the component
 * {@code job-<jobid>} on that service (one lock, {@code <cluster-id>-cluster-config-map}), and
 * confirms an address. The store and the counter then come from
 * {@code KubernetesCheckpointRecoveryFactory.withoutLeadershipValidation(...)}, exactly as
 * {@code KubernetesLeaderElectionHaServices.createCheckpointRecoveryFactory()} makes it in 1.20:
 * {@code createRecoveredCompletedCheckpointStore} creates the ConfigMap
 * {@code <cluster-id>-<jobid>-config-map} if absent and calls
 * {@code KubernetesUtils.createCompletedCheckpointStore} (a {@code FileSystemStateStorageHelper}
 * under {@code <storage>/<cluster-id>}, a {@code KubernetesStateHandleStore} over that ConfigMap,
 * a {@code DefaultCompletedCheckpointStore}); {@code createCheckpointIDCounter} is a
 * {@code KubernetesCheckpointIDCounter} on the same ConfigMap. In 1.20 both get a null lock
 * identity: they check no leadership in the job ConfigMap, which carries no leader annotation.
 *
 * <p>A commit is {@code counter.getAndIncrement()} then
 * {@code store.addCheckpointAndSubsumeOldestOne(...)} of a {@code CompletedCheckpoint} whose one
 * operator carries {@code --state-bytes} of state (an inline {@code ByteStreamStateHandle} as
 * its coordinator state), so the checkpoint file the storage helper writes holds that state.
 *
 * <p>Phases: {@code --warmup} unmeasured commits (class loading, the JIT); then as many
 * increments alone as commits (the counter's own requests and latency); then the measured
 * commits. The server's statistics are reset before each measured phase and read after it. The
 * leader keeps renewing its lock meanwhile (one GET and one merge PATCH of the cluster ConfigMap
 * per renew; nothing else in these phases sends a PATCH), so each phase's PATCH count is its
 * renews, and that many GETs and PATCHes are taken off before attributing requests.
 *
 * <p>Prints the figures, then one last line {@code JSON {...}} with all of them.
 *
 * <pre>
 *   FlinkStoreBench --kubeconfig KC --namespace NS --cluster-id CID --storage DIR --commits N
 *       --retained R --state-bytes B --stats-url URL [--warmup W (50)]
 *       [--lease SEC (15)] [--renew SEC (10)] [--retry SEC (5)]
 * </pre>
 *
 * {@code URL} is kube-lite's {@code .../kube-lite/v1/stats}; {@code URL/reset} resets it.
 */
public final class FlinkStoreBench {
  static final String USAGE = "FlinkStoreBench --kubeconfig KC --namespace NS --cluster-id CID"
      + " --storage DIR --commits N --retained R --state-bytes B --stats-url URL [--warmup W]"
      + " [--lease SEC] [--renew SEC] [--retry SEC]";
  private static final String CHECKPOINT_KEY_PREFIX = "checkpointID-";

  private final HttpClient http = HttpClient.newHttpClient();
  private final ObjectMapper json = new ObjectMapper();
  private final com.sun.management.OperatingSystemMXBean os =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
  private final String statsUrl;
  private final JobID job = JobID.generate();
  private final Path checkpointsDir;
  private final byte[] state;
  private final OperatorID operator = new OperatorID();
  private CheckpointIDCounter counter;
  private CompletedCheckpointStore store;
  private final CheckpointsCleaner cleaner = new CheckpointsCleaner();

  private FlinkStoreBench(String statsUrl, Path storage, int stateBytes) {
    this.statsUrl = statsUrl.replaceAll("/+$", "");
    this.checkpointsDir = storage.resolve("checkpoints").resolve(job.toString());
    this.state = new byte[stateBytes];
    Arrays.fill(state, (byte) 'x');
  }

  public static void main(String[] argv) {
    int status = 0;
    try {
      run(argv);
    } catch (Args.UsageException e) {
      System.err.println(e.getMessage());
      status = 2;
    } catch (Throwable t) {
      t.printStackTrace();
      status = 1;
    }
    System.out.flush();
    Runtime.getRuntime().halt(status); // (the kube client leaves threads that are not daemons)
  }

  private static void run(String[] argv) throws Exception {
    Args a = new Args("FlinkStoreBench", USAGE, argv, "kubeconfig", "namespace", "cluster-id",
        "storage", "commits", "retained", "state-bytes", "stats-url", "warmup", "lease", "renew",
        "retry");
    int commits = Integer.parseInt(a.get("commits"));
    int retained = Integer.parseInt(a.get("retained"));
    int warmup = a.getInt("warmup", "50");
    File storage = new File(a.get("storage")).getAbsoluteFile();
    Files.createDirectories(storage.toPath());
    Configuration conf = FlinkHa.configuration(a.get("kubeconfig"), a.get("namespace"),
        a.get("cluster-id"), a.millis("lease", "15"), a.millis("renew", "10"),
        a.millis("retry", "5"), storage);
    FlinkStoreBench b = new FlinkStoreBench(a.get("stats-url"), storage.toPath(),
        Integer.parseInt(a.get("state-bytes")));
    b.measure(conf, commits, retained, warmup);
  }

  private void measure(Configuration conf, int commits, int retained, int warmup)
      throws Exception {
    long startedMs = System.currentTimeMillis();
    // A JobManager's ioExecutor (ClusterEntrypoint: cluster.io-pool.size, 4 x cores by default).
    ExecutorService io = Executors.newFixedThreadPool(4 * Hardware.getNumberCPUCores(),
        new ExecutorThreadFactory("cluster-io"));
    // KubernetesLeaderElectionHaServices names its lock identity with a random UUID.
    FlinkHa ha = new FlinkHa(conf, UUID.randomUUID().toString());
    String jobConfigMap = ha.jobConfigMap(job);

    // Lead the job as its JobMaster does: the component job-<jobid> on the HA services.
    LeaderElection jobElection = ha.leaderElectionService.createLeaderElection("job-" + job);
    CompletableFuture<UUID> granted = new CompletableFuture<>();
    AtomicBoolean closing = new AtomicBoolean();
    jobElection.startLeaderElection(new LeaderContender() {
      @Override
      public void grantLeadership(UUID session) {
        granted.complete(session);
      }

      @Override
      public void revokeLeadership() {
        if (!closing.get()) {
          System.err.println("FlinkStoreBench: leadership revoked during the run");
        }
      }

      @Override
      public void handleError(Exception e) {
        granted.completeExceptionally(e);
        e.printStackTrace();
      }
    });
    UUID session = granted.get(120, TimeUnit.SECONDS);
    jobElection.confirmLeadershipAsync(session, "pekko.tcp://flink@store-bench:6123/user/rpc/"
        + "jobmanager_2").get(60, TimeUnit.SECONDS);
    long leaderMs = System.currentTimeMillis();

    CheckpointRecoveryFactory recovery = KubernetesCheckpointRecoveryFactory
        .withoutLeadershipValidation(ha.kubeClient, conf, io, ha.clusterId, ha::jobConfigMap);
    store = recovery.createRecoveredCompletedCheckpointStore(job, retained,
        SharedStateRegistry.DEFAULT_FACTORY, io, RestoreMode.DEFAULT);
    counter = recovery.createCheckpointIDCounter(job);
    counter.start();

    for (int i = 0; i < warmup; i++) {
      commit();
    }

    // The counter alone.
    Map<String, Long> counterStats;
    double[] incOnly = new double[commits];
    resetStats();
    long cpuC0 = os.getProcessCpuTime();
    for (int i = 0; i < commits; i++) {
      long t0 = System.nanoTime();
      counter.getAndIncrement();
      incOnly[i] = (System.nanoTime() - t0) / 1e6;
    }
    long cpuC = os.getProcessCpuTime() - cpuC0;
    counterStats = readStats();

    // The commits.
    double[] total = new double[commits];
    double[] inc = new double[commits];
    double[] add = new double[commits];
    resetStats();
    long cpu0 = os.getProcessCpuTime();
    long mainCpu0 = threads.getCurrentThreadCpuTime();
    long wall0 = System.nanoTime();
    for (int i = 0; i < commits; i++) {
      double[] t = commit();
      inc[i] = t[0];
      add[i] = t[1];
      total[i] = t[0] + t[1];
    }
    long wall = System.nanoTime() - wall0;
    long mainCpu = threads.getCurrentThreadCpuTime() - mainCpu0;
    long cpu = os.getProcessCpuTime() - cpu0;
    Map<String, Long> commitStats = readStats();

    // The job ConfigMap as the store left it (a read of our own, after the measured phases).
    KubernetesConfigMap cm = ha.kubeClient.getConfigMap(jobConfigMap)
        .orElseThrow(() -> new IllegalStateException("no ConfigMap " + jobConfigMap));
    long dataBytes = 0;
    long checkpointBytes = 0;
    int checkpointEntries = 0;
    for (Map.Entry<String, String> e : cm.getData().entrySet()) {
      long n = e.getKey().getBytes(StandardCharsets.UTF_8).length
          + e.getValue().getBytes(StandardCharsets.UTF_8).length;
      dataBytes += n;
      if (e.getKey().startsWith(CHECKPOINT_KEY_PREFIX)) {
        checkpointBytes += n;
        checkpointEntries++;
      }
    }
    int retainedNow = store.getNumberOfRetainedCheckpoints();
    long[] rss = rssKib();
    long heapUsed = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();

    // Shut down as a JobManager suspending the job does: keep the checkpoints and the counter.
    String closeError = null;
    closing.set(true);
    try {
      store.shutdown(JobStatus.SUSPENDED, cleaner);
      counter.shutdown(JobStatus.SUSPENDED).get(30, TimeUnit.SECONDS);
      jobElection.close();
      ha.close();
      io.shutdown();
    } catch (Exception e) {
      closeError = String.valueOf(e);
    }

    // Attribution.
    long renewsC = counterStats.getOrDefault("patch configmaps", 0L);
    long renews = commitStats.getOrDefault("patch configmaps", 0L);
    long counterReqs = counterStats.getOrDefault("total", 0L) - 2 * renewsC;
    long commitReqs = commitStats.getOrDefault("total", 0L) - 2 * renews;
    double perInc = (double) counterReqs / commits;
    double perCommit = (double) commitReqs / commits;

    Map<String, Object> r = new LinkedHashMap<>();
    r.put("impl", "flink-1.20.1");
    r.put("cluster_id", ha.clusterId);
    r.put("job_config_map", jobConfigMap);
    r.put("commits", commits);
    r.put("warmup", warmup);
    r.put("retained", retained);
    r.put("state_bytes", state.length);
    r.put("setup_ms", leaderMs - startedMs);
    r.put("commit_ms_p50", pct(total, 50));
    r.put("commit_ms_p99", pct(total, 99));
    r.put("commit_ms_mean", mean(total));
    r.put("counter_ms_p50", pct(inc, 50));
    r.put("counter_ms_p99", pct(inc, 99));
    r.put("add_ms_p50", pct(add, 50));
    r.put("add_ms_p99", pct(add, 99));
    r.put("commits_per_s", commits / (wall / 1e9));
    r.put("requests_per_commit", perCommit);
    r.put("counter_requests_per_increment", perInc);
    r.put("add_requests_per_commit", perCommit - perInc);
    r.put("requests_commit_phase", commitStats.getOrDefault("total", 0L));
    r.put("renews_commit_phase", renews);
    r.put("requests_counter_phase", counterStats.getOrDefault("total", 0L));
    r.put("renews_counter_phase", renewsC);
    r.put("commit_phase_by_verb", perVerb(commitStats, renews, commits));
    r.put("counter_phase_by_verb", perVerb(counterStats, renewsC, commits));
    r.put("increment_alone_ms_p50", pct(incOnly, 50));
    r.put("increment_alone_ms_p99", pct(incOnly, 99));
    r.put("increment_alone_cpu_ms", cpuC / 1e6 / commits);
    r.put("config_map_data_bytes", dataBytes);
    r.put("config_map_checkpoint_entries", checkpointEntries);
    r.put("config_map_checkpoint_entry_bytes", checkpointBytes);
    r.put("retained_after_run", retainedNow);
    r.put("config_map_bytes_per_retained", retainedNow == 0 ? 0 : (double) dataBytes / retainedNow);
    r.put("checkpoint_entry_bytes_per_retained",
        retainedNow == 0 ? 0 : (double) checkpointBytes / retainedNow);
    r.put("cpu_ms_per_commit", cpu / 1e6 / commits);
    r.put("main_thread_cpu_ms_per_commit", mainCpu / 1e6 / commits);
    r.put("rss_kib", rss[0]);
    r.put("rss_peak_kib", rss[1]);
    r.put("heap_used_kib", heapUsed / 1024);
    r.put("heap_max_kib", Runtime.getRuntime().maxMemory() / 1024);
    r.put("cpus", Runtime.getRuntime().availableProcessors());
    r.put("close_error", closeError);

    print(r);
    System.out.println("JSON " + json.writeValueAsString(r));
  }

  /** One commit as a CheckpointCoordinator makes it: the next ID, then the add. */
  private double[] commit() throws Exception {
    long t0 = System.nanoTime();
    long id = counter.getAndIncrement();
    long t1 = System.nanoTime();
    store.addCheckpointAndSubsumeOldestOne(checkpoint(id), cleaner, () -> {});
    long t2 = System.nanoTime();
    return new double[] {(t1 - t0) / 1e6, (t2 - t1) / 1e6};
  }

  private CompletedCheckpoint checkpoint(long id) {
    org.apache.flink.core.fs.Path dir =
        new org.apache.flink.core.fs.Path(checkpointsDir.resolve("chk-" + id).toUri());
    FileStateHandle metadata =
        new FileStateHandle(new org.apache.flink.core.fs.Path(dir, "_metadata"), 0);
    OperatorState op = new OperatorState(operator, 1, 128);
    op.setCoordinatorState(new ByteStreamStateHandle("coordinator-" + id, state));
    long now = System.currentTimeMillis();
    return new CompletedCheckpoint(job, id, now, now, Collections.singletonMap(operator, op),
        Collections.emptyList(),
        CheckpointProperties.forCheckpoint(CheckpointRetentionPolicy.NEVER_RETAIN_AFTER_TERMINATION),
        new FsCompletedCheckpointStorageLocation(LocalFileSystem.getSharedInstance(), dir,
            metadata, dir.toString()),
        null);
  }

  private void resetStats() throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(statsUrl + "/reset"))
        .POST(HttpRequest.BodyPublishers.ofString("{}"))
        .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("POST " + statsUrl + "/reset: " + r.statusCode());
    }
  }

  /** "verb resource" (and "total") to counts. */
  private Map<String, Long> readStats() throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(statsUrl)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IllegalStateException("GET " + statsUrl + ": " + r.statusCode());
    }
    JsonNode st = json.readTree(r.body());
    Map<String, Long> m = new TreeMap<>();
    m.put("total", st.path("total").asLong());
    for (JsonNode q : st.path("requests")) {
      String k = q.path("verb").asText() + " " + (q.path("resource").asText().isEmpty() ? "-"
          : q.path("resource").asText());
      m.merge(k, q.path("count").asLong(), Long::sum);
      if (q.path("code").asInt() >= 300) {
        m.merge(k + " " + q.path("code").asInt(), q.path("count").asLong(), Long::sum);
      }
    }
    return m;
  }

  /** Requests per commit by verb, with the renews' GETs and PATCHes taken off. */
  private static Map<String, Double> perVerb(Map<String, Long> st, long renews, int commits) {
    Map<String, Double> m = new TreeMap<>();
    st.forEach((k, v) -> {
      if (!k.equals("total")) {
        long n = v - (k.equals("get configmaps") || k.equals("patch configmaps") ? renews : 0);
        if (n != 0) {
          m.put(k, (double) n / commits);
        }
      }
    });
    return m;
  }

  private static long[] rssKib() {
    long[] r = {-1, -1};
    try {
      for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (l.startsWith("VmRSS:")) {
          r[0] = Long.parseLong(l.replaceAll("[^0-9]", ""));
        } else if (l.startsWith("VmHWM:")) {
          r[1] = Long.parseLong(l.replaceAll("[^0-9]", ""));
        }
      }
    } catch (Exception e) {
      // not Linux: no figure
    }
    return r;
  }

  /** Nearest rank as the other commit benchmarks take it: sorted[n/2], sorted[n*99/100]. */
  private static double pct(double[] xs, int p) {
    double[] s = xs.clone();
    Arrays.sort(s);
    return p == 50 ? s[s.length / 2] : s[(s.length * p) / 100];
  }

  private static double mean(double[] xs) {
    return Arrays.stream(xs).average().orElse(0);
  }

  private static void print(Map<String, Object> r) {
    Locale l = Locale.ROOT;
    System.out.printf(l, "Flink 1.20.1 checkpoint store on %s (%s), retained %s, state %s bytes%n",
        r.get("job_config_map"), r.get("cluster_id"), r.get("retained"), r.get("state_bytes"));
    System.out.printf(l, "  %s commits after %s unmeasured; leader after %s ms%n",
        r.get("commits"), r.get("warmup"), r.get("setup_ms"));
    System.out.printf(l, "  commit (increment + add): p50 %.2f ms, p99 %.2f ms, mean %.2f ms;"
        + " %.1f commits/s%n", r.get("commit_ms_p50"), r.get("commit_ms_p99"),
        r.get("commit_ms_mean"), r.get("commits_per_s"));
    System.out.printf(l, "    of which increment p50 %.2f / p99 %.2f ms, add p50 %.2f / p99 %.2f"
        + " ms%n", r.get("counter_ms_p50"), r.get("counter_ms_p99"), r.get("add_ms_p50"),
        r.get("add_ms_p99"));
    System.out.printf(l, "  API requests per commit: %.2f (counter %.2f, measured alone; add and"
        + " subsume %.2f)%n", r.get("requests_per_commit"),
        r.get("counter_requests_per_increment"), r.get("add_requests_per_commit"));
    System.out.printf(l, "    by verb per commit: %s%n", r.get("commit_phase_by_verb"));
    System.out.printf(l, "    the leader's renews taken off: %s in the commit phase (%s requests"
        + " counted), %s in the counter phase (%s counted)%n", r.get("renews_commit_phase"),
        r.get("requests_commit_phase"), r.get("renews_counter_phase"),
        r.get("requests_counter_phase"));
    System.out.printf(l, "  increments alone: p50 %.2f ms, p99 %.2f ms, CPU %.3f ms each%n",
        r.get("increment_alone_ms_p50"), r.get("increment_alone_ms_p99"),
        r.get("increment_alone_cpu_ms"));
    System.out.printf(l, "  job ConfigMap after the run: %s data bytes, %s checkpoint entries"
        + " (%s bytes); %s retained: %.1f bytes per retained checkpoint (entries alone %.1f)%n",
        r.get("config_map_data_bytes"), r.get("config_map_checkpoint_entries"),
        r.get("config_map_checkpoint_entry_bytes"), r.get("retained_after_run"),
        r.get("config_map_bytes_per_retained"), r.get("checkpoint_entry_bytes_per_retained"));
    System.out.printf(l, "  CPU per commit: %.3f ms (process), %.3f ms (calling thread)%n",
        r.get("cpu_ms_per_commit"), r.get("main_thread_cpu_ms_per_commit"));
    System.out.printf(l, "  RSS %s KiB (peak %s KiB), heap used %s KiB of %s KiB max%n",
        r.get("rss_kib"), r.get("rss_peak_kib"), r.get("heap_used_kib"), r.get("heap_max_kib"));
    if (r.get("close_error") != null) {
      System.out.printf(l, "  closing failed: %s%n", r.get("close_error"));
    }
  }
}
