package io.libk8sha.tests.flink;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.fs.Path;
import org.apache.flink.kubernetes.highavailability.FixtureHandleAccess;
import org.apache.flink.kubernetes.highavailability.KubernetesCheckpointIDCounter;
import org.apache.flink.kubernetes.highavailability.KubernetesCheckpointRecoveryFactory;
import org.apache.flink.kubernetes.highavailability.KubernetesCheckpointStoreUtil;
import org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory;
import org.apache.flink.kubernetes.kubeclient.FlinkKubeClient;
import org.apache.flink.kubernetes.kubeclient.FlinkKubeClientFactory;
import org.apache.flink.kubernetes.kubeclient.resources.KubernetesConfigMap;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.runtime.checkpoint.CheckpointProperties;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.checkpoint.CheckpointRetentionPolicy;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.CheckpointsCleaner;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.runtime.jobgraph.tasks.AbstractInvokable;
import org.apache.flink.runtime.leaderelection.LeaderContender;
import org.apache.flink.runtime.leaderelection.LeaderElection;
import org.apache.flink.runtime.state.CheckpointMetadataOutputStream;
import org.apache.flink.runtime.state.CheckpointStorageAccess;
import org.apache.flink.runtime.state.CheckpointStorageLocation;
import org.apache.flink.runtime.state.CompletedCheckpointStorageLocation;
import org.apache.flink.runtime.state.RetrievableStateHandle;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage;
import org.apache.flink.runtime.util.EnvironmentInformation;

import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Writes and reads Flink Kubernetes-HA data with Flink's own classes.
 *
 * <pre>
 *   write KUBECONFIG NAMESPACE CLUSTER_ID STORAGE_DIR
 *   read  KUBECONFIG NAMESPACE CLUSTER_ID STORAGE_DIR
 * </pre>
 */
public final class FixtureGen {
    /** Job A: checkpoints 1..5, retention 3 leaves 3, 4, 5. */
    static final JobID JOB_A = JobID.fromHexString("0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    /** Job B: as job A, but the removal of checkpoint 1 is interrupted: its entry stays marked. */
    static final JobID JOB_B = JobID.fromHexString("c0ffee00deadbeef0123456789abcdef");

    static final int CHECKPOINTS = 5;
    static final int RETAINED = 3;
    /** Deterministic checkpoint timestamps (they end up inside the serialized CompletedCheckpoint). */
    static final long BASE_TS = 1_700_000_000_000L;
    static final String HOST = "10.244.0.17";

    private FixtureGen() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 5 || !(args[0].equals("write") || args[0].equals("read"))) {
            System.err.println(
                    "usage: FixtureGen write|read KUBECONFIG NAMESPACE CLUSTER_ID STORAGE_DIR");
            System.exit(64);
        }
        Configuration conf = configuration(args[1], args[2], args[3], args[4]);
        int rc;
        if (args[0].equals("write")) {
            rc = write(conf, args[3], args[4]);
        } else {
            rc = read(conf, args[3]);
        }
        System.out.flush();
        System.err.flush();
        // End like a JobManager process that goes away without revoking its leadership: the
        // leader entries, the leader annotation and all HA data stay in place.
        Runtime.getRuntime().halt(rc);
    }

    static Configuration configuration(String kubeconfig, String ns, String clusterId, String storageDir) {
        Configuration c = new Configuration();
        c.setString("kubernetes.config.file", kubeconfig);
        c.setString("kubernetes.namespace", ns);
        c.setString("kubernetes.cluster-id", clusterId);
        c.setString("high-availability.type", "kubernetes");
        // Flink's native Kubernetes deployment sets high-availability.cluster-id to the cluster id.
        c.setString("high-availability.cluster-id", clusterId);
        c.setString("high-availability.storageDir", storageDir);
        c.setString("high-availability.kubernetes.leader-election.lease-duration", "3 s");
        c.setString("high-availability.kubernetes.leader-election.renew-deadline", "2 s");
        c.setString("high-availability.kubernetes.leader-election.retry-period", "500 ms");
        c.setString("state.checkpoints.dir", storageDir + "/checkpoints");
        c.setString("state.checkpoints.num-retained", Integer.toString(RETAINED));
        return c;
    }

    static String clusterConfigMap(String clusterId) {
        return clusterId + "-cluster-config-map";
    }

    static String jobConfigMap(String clusterId, JobID id) {
        return clusterId + "-" + id + "-config-map";
    }

    // ------------------------------------------------------------------------------------ write

    /** Invokable named by the fixture's job vertices (stored as a class name, never loaded). */
    public static final class NoOpInvokable extends AbstractInvokable {
        public NoOpInvokable(org.apache.flink.runtime.execution.Environment env) {
            super(env);
        }

        @Override
        public void invoke() {}
    }

    static JobGraph jobGraph(JobID id, String name) {
        JobVertex v = new JobVertex("fixture-source");
        v.setInvokableClass(NoOpInvokable.class);
        v.setParallelism(1);
        return new JobGraph(id, name, v);
    }

    /** Contender that hands the granted session id to the main thread. */
    static final class Contender implements LeaderContender {
        final CompletableFuture<UUID> granted = new CompletableFuture<>();
        final String component;

        Contender(String component) {
            this.component = component;
        }

        @Override
        public void grantLeadership(UUID id) {
            granted.complete(id);
        }

        @Override
        public void revokeLeadership() {}

        @Override
        public void handleError(Exception e) {
            System.err.println("leader election error for " + component + ": " + e);
            granted.completeExceptionally(e);
        }
    }

    static void lead(LeaderElection le, String component, String address) throws Exception {
        Contender c = new Contender(component);
        le.startLeaderElection(c);
        UUID session = c.granted.get(60, TimeUnit.SECONDS);
        le.confirmLeadershipAsync(session, address).get(60, TimeUnit.SECONDS);
    }

    static int write(Configuration conf, String clusterId, String storageDir) throws Exception {
        ExecutorService io = Executors.newFixedThreadPool(4);
        HighAvailabilityServices ha = new KubernetesHaServicesFactory().createHAServices(conf, io);
        FlinkKubeClient client =
                FlinkKubeClientFactory.getInstance().fromConfiguration(conf, "fixturegen-io");
        FlinkLine line = new LineImpl();

        String rpc = "pekko.tcp://flink@" + HOST + ":6123/user/rpc/";
        lead(ha.getResourceManagerLeaderElection(), "resourcemanager", rpc + "resourcemanager_0");
        lead(ha.getDispatcherLeaderElection(), "dispatcher", rpc + "dispatcher_1");
        lead(ha.getClusterRestEndpointLeaderElection(), "restserver", "http://" + HOST + ":8081");

        List<JobGraph> graphs = new ArrayList<>();
        graphs.add(jobGraph(JOB_A, "fixture-job-a"));
        graphs.add(jobGraph(JOB_B, "fixture-job-b"));
        line.writePlans(ha, conf, graphs);

        lead(ha.getJobManagerLeaderElection(JOB_A), "job-" + JOB_A, rpc + "jobmanager_2");
        lead(ha.getJobManagerLeaderElection(JOB_B), "job-" + JOB_B, rpc + "jobmanager_3");

        CheckpointRecoveryFactory recovery = ha.getCheckpointRecoveryFactory();
        writeCheckpoints(conf, line, recovery, client, clusterId, storageDir, JOB_A, io, false);
        writeCheckpoints(conf, line, recovery, client, clusterId, storageDir, JOB_B, io, true);

        line.stopPlanStores();
        io.shutdown();
        if (!io.awaitTermination(60, TimeUnit.SECONDS)) {
            System.err.println("io executor did not finish");
            return 1;
        }
        return 0;
    }

    static void writeCheckpoints(
            Configuration conf,
            FlinkLine line,
            CheckpointRecoveryFactory recovery,
            FlinkKubeClient client,
            String clusterId,
            String storageDir,
            JobID jobId,
            ExecutorService storeExecutor,
            boolean interruptRemovalOfFirst)
            throws Exception {
        CheckpointIDCounter counter = recovery.createCheckpointIDCounter(jobId);
        counter.start();
        CompletedCheckpointStore store =
                line.createCheckpointStore(recovery, jobId, RETAINED, storeExecutor);
        CheckpointsCleaner cleaner = new CheckpointsCleaner();
        CheckpointStorageAccess storage =
                new FileSystemCheckpointStorage(new Path(storageDir + "/checkpoints"))
                        .createCheckpointStorage(jobId);
        storage.initializeBaseLocationsForCheckpoint();
        CheckpointProperties props =
                CheckpointProperties.forCheckpoint(
                        CheckpointRetentionPolicy.NEVER_RETAIN_AFTER_TERMINATION);
        java.io.File pinned = null;
        for (int i = 1; i <= CHECKPOINTS; i++) {
            long id = counter.getAndIncrement();
            long ts = BASE_TS + id * 60_000L;
            CheckpointStorageLocation loc = storage.initializeLocationForCheckpoint(id);
            CheckpointMetadataOutputStream out = loc.createMetadataOutputStream();
            Checkpoints.storeCheckpointMetadata(
                    new CheckpointMetadata(id, Collections.emptyList(), Collections.emptyList(), props),
                    out);
            CompletedCheckpointStorageLocation done = out.closeAndFinalizeCheckpoint();
            CompletedCheckpoint cp =
                    new CompletedCheckpoint(
                            jobId, id, ts, ts + 250, Collections.emptyMap(), Collections.emptyList(),
                            props, done, null);
            if (interruptRemovalOfFirst && id == RETAINED + 1) {
                // The next add subsumes checkpoint 1. Make its HA blob undeletable so that
                // KubernetesStateHandleStore.releaseAndTryRemove marks the entry, fails to
                // discard the blob and never commits the removal.
                String key = KubernetesCheckpointStoreUtil.INSTANCE.checkpointIDToName(1L);
                String value = client.getConfigMap(jobConfigMap(clusterId, jobId)).get().getData().get(key);
                pinned = new java.io.File(filePath(FixtureHandleAccess.decode(value).inner).toUri().getPath());
                chattr("+i", pinned);
            }
            try {
                store.addCheckpointAndSubsumeOldestOne(cp, cleaner, () -> {});
            } finally {
                if (pinned != null) {
                    chattr("-i", pinned);
                    pinned = null;
                }
            }
        }
        // Wait for Flink's asynchronous discard of subsumed checkpoints.
        cleaner.closeAsync().get(60, TimeUnit.SECONDS);
        store.shutdown(JobStatus.SUSPENDED, cleaner);
        counter.shutdown(JobStatus.SUSPENDED).get(60, TimeUnit.SECONDS);
    }

    static void chattr(String flag, java.io.File f) throws Exception {
        Process p = new ProcessBuilder("chattr", flag, f.getPath()).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("chattr " + flag + " " + f + " failed");
        }
    }

    // ------------------------------------------------------------------------------------- read

    static StreamStateHandle wrapped(RetrievableStateHandle<?> h) throws Exception {
        Field f = h.getClass().getDeclaredField("wrappedStreamStateHandle");
        f.setAccessible(true);
        return (StreamStateHandle) f.get(h);
    }

    static Path filePath(RetrievableStateHandle<?> h) throws Exception {
        StreamStateHandle w = wrapped(h);
        return ((FileStateHandle) w).getFilePath();
    }

    /** One ConfigMap value decoded with Flink's classes, plus whether Flink can read its blob. */
    static Map<String, Object> entry(String key, String value, boolean tryRetrieve) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("key", key);
        try {
            FixtureHandleAccess.Decoded d = FixtureHandleAccess.decode(value);
            StreamStateHandle w = wrapped(d.inner);
            m.put("classes", List.of(d.wrapperClass, d.inner.getClass().getName(), w.getClass().getName()));
            if (w instanceof FileStateHandle) {
                Path p = ((FileStateHandle) w).getFilePath();
                m.put("path", p.toString());
                m.put("uri", p.toUri().toString());
            }
            m.put("stateSize", d.inner.getStateSize());
            m.put("markedForDeletion", d.markedForDeletion);
            m.put("valueLength", value.length());
            if (tryRetrieve) {
                try {
                    Object o = d.inner.retrieveState();
                    m.put("recoverable", o != null);
                    m.put("stateClass", o == null ? null : o.getClass().getName());
                } catch (Exception e) {
                    m.put("recoverable", false);
                    m.put("error", String.valueOf(e));
                }
            }
        } catch (Exception e) {
            m.put("decodeError", String.valueOf(e));
        }
        return m;
    }

    static Map<String, Object> configMapMeta(KubernetesConfigMap cm) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", cm.getName());
        m.put("labels", new TreeMap<>(cm.getLabels()));
        m.put("annotations", new TreeMap<>(cm.getAnnotations()));
        return m;
    }

    static int read(Configuration conf, String clusterId) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        List<String> failures = new ArrayList<>();
        ExecutorService io = Executors.newFixedThreadPool(2);
        FlinkKubeClient client =
                FlinkKubeClientFactory.getInstance().fromConfiguration(conf, "fixturegen-io");
        FlinkLine line = new LineImpl();
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("flinkVersion", EnvironmentInformation.getVersion());
        doc.put("clusterId", clusterId);

        String clusterCm = clusterConfigMap(clusterId);
        KubernetesConfigMap cm =
                client.getConfigMap(clusterCm)
                        .orElseThrow(() -> new IllegalStateException("no ConfigMap " + clusterCm));
        Map<String, String> data = new TreeMap<>(cm.getData());

        Map<String, Object> cluster = configMapMeta(cm);
        Map<String, Object> leaders = new LinkedHashMap<>();
        TreeSet<String> jobIds = new TreeSet<>();
        String leaderPrefix = "org.apache.flink.k8s.leader.";
        for (Map.Entry<String, String> e : data.entrySet()) {
            if (e.getKey().startsWith(leaderPrefix)) {
                String component = e.getKey().substring(leaderPrefix.length());
                String v = e.getValue();
                int comma = v.indexOf(',');
                Map<String, Object> l = new LinkedHashMap<>();
                l.put("key", e.getKey());
                l.put("value", v);
                l.put("sessionId", comma < 0 ? null : v.substring(0, comma));
                l.put("address", comma < 0 ? null : v.substring(comma + 1));
                leaders.put(component, l);
                if (component.startsWith("job-")) {
                    jobIds.add(component.substring(4));
                }
            }
        }
        cluster.put("leaders", leaders);

        List<Object> plans = new ArrayList<>();
        for (Map.Entry<String, String> e : data.entrySet()) {
            if (e.getKey().startsWith(line.planKeyPrefix())) {
                plans.add(entry(e.getKey(), e.getValue(), true));
                jobIds.add(e.getKey().substring(line.planKeyPrefix().length()));
            }
        }
        cluster.put("plans", plans);
        for (String prefix : line.extraKeyPrefixes()) {
            List<Object> extra = new ArrayList<>();
            for (Map.Entry<String, String> e : data.entrySet()) {
                if (e.getKey().startsWith(prefix)) {
                    extra.add(entry(e.getKey(), e.getValue(), true));
                }
            }
            cluster.put(prefix.replace("-", "") + "s", extra);
        }
        List<String> otherKeys = new ArrayList<>();
        for (String k : data.keySet()) {
            boolean known = k.startsWith(leaderPrefix) || k.startsWith(line.planKeyPrefix());
            for (String prefix : line.extraKeyPrefixes()) known |= k.startsWith(prefix);
            if (!known) otherKeys.add(k);
        }
        cluster.put("otherKeys", otherKeys);
        try {
            cluster.put("storeRecovery", line.recoverPlans(conf, client, clusterCm));
        } catch (Exception e) {
            cluster.put("storeRecovery", Map.of("error", String.valueOf(e)));
            failures.add("plan store recovery: " + e);
        }
        for (Object p : plans) {
            if (!Boolean.TRUE.equals(((Map<?, ?>) p).get("recoverable"))) {
                failures.add("plan not recoverable: " + ((Map<?, ?>) p).get("key"));
            }
        }
        doc.put("cluster", cluster);

        List<Object> jobs = new ArrayList<>();
        KubernetesCheckpointRecoveryFactory recovery =
                KubernetesCheckpointRecoveryFactory.withoutLeadershipValidation(
                        client, conf, io, clusterId, id -> jobConfigMap(clusterId, id));
        for (String hex : jobIds) {
            JobID jobId = JobID.fromHexString(hex);
            Map<String, Object> job = new LinkedHashMap<>();
            job.put("jobId", hex);
            String name = jobConfigMap(clusterId, jobId);
            KubernetesConfigMap jcm = client.getConfigMap(name).orElse(null);
            if (jcm == null) {
                job.put("configMap", null);
                jobs.add(job);
                continue;
            }
            job.put("configMap", configMapMeta(jcm));
            Map<String, String> jdata = new TreeMap<>(jcm.getData());
            job.put("counterValue", jdata.get("counter"));
            KubernetesCheckpointIDCounter counter =
                    new KubernetesCheckpointIDCounter(client, name, "fixturegen-reader");
            job.put("counter", counter.get());
            List<Object> cps = new ArrayList<>();
            for (Map.Entry<String, String> e : jdata.entrySet()) {
                if (e.getKey().startsWith("checkpointID-")) {
                    Map<String, Object> m = entry(e.getKey(), e.getValue(), false);
                    Map<String, Object> withId = new LinkedHashMap<>();
                    withId.put("key", e.getKey());
                    withId.put("checkpointId",
                            KubernetesCheckpointStoreUtil.INSTANCE.nameToCheckpointID(e.getKey()));
                    m.remove("key");
                    withId.putAll(m);
                    cps.add(withId);
                }
            }
            job.put("checkpoints", cps);
            List<String> otherKeys2 = new ArrayList<>();
            for (String k : jdata.keySet()) {
                if (!k.equals("counter") && !k.startsWith("checkpointID-")) otherKeys2.add(k);
            }
            job.put("otherKeys", otherKeys2);
            Map<String, Object> rec = new LinkedHashMap<>();
            try {
                CompletedCheckpointStore store = line.createCheckpointStore(recovery, jobId, RETAINED, io);
                List<Object> ids = new ArrayList<>();
                List<Object> details = new ArrayList<>();
                for (CompletedCheckpoint c : store.getAllCheckpoints()) {
                    ids.add(c.getCheckpointID());
                    Map<String, Object> d = new LinkedHashMap<>();
                    d.put("checkpointId", c.getCheckpointID());
                    d.put("timestamp", c.getTimestamp());
                    d.put("externalPointer", c.getExternalPointer());
                    StreamStateHandle mh = c.getMetadataHandle();
                    if (mh instanceof FileStateHandle) {
                        d.put("metadataPath", ((FileStateHandle) mh).getFilePath().toString());
                    }
                    details.add(d);
                }
                rec.put("ok", true);
                rec.put("checkpointIds", ids);
                rec.put("checkpoints", details);
            } catch (Exception e) {
                rec.put("ok", false);
                rec.put("error", String.valueOf(e));
                failures.add("checkpoint recovery of job " + hex + ": " + e);
            }
            job.put("recovery", rec);
            jobs.add(job);
        }
        doc.put("jobs", jobs);
        doc.put("ok", failures.isEmpty());
        out.print(Json.write(doc));
        out.flush();
        for (String f : failures) {
            System.err.println("fixturegen read: " + f);
        }
        return failures.isEmpty() ? 0 : 2;
    }
}
