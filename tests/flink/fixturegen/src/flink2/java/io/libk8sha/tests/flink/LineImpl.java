package io.libk8sha.tests.flink;

import org.apache.flink.api.common.ApplicationID;
import org.apache.flink.api.common.JobID;
import org.apache.flink.client.deployment.application.PackagedProgramApplication;
import org.apache.flink.client.program.JarInfo;
import org.apache.flink.client.program.PackagedProgram;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.kubernetes.kubeclient.FlinkKubeClient;
import org.apache.flink.kubernetes.utils.KubernetesUtils;
import org.apache.flink.runtime.blob.PermanentBlobKey;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmanager.ApplicationStore;
import org.apache.flink.runtime.jobmanager.ApplicationStoreEntry;
import org.apache.flink.runtime.jobmanager.ExecutionPlanStore;
import org.apache.flink.runtime.state.SharedStateRegistry;
import org.apache.flink.streaming.api.graph.ExecutionPlan;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * Flink 2.x: ExecutionPlanStore (keys executionPlan-<jobid>, blobs submittedExecutionPlan<hex>) and,
 * from 2.3, ApplicationStore (keys application-<appid>, blobs submittedApplication<hex>).
 */
final class LineImpl implements FlinkLine {
    /** Fixed application id of the fixture's one application. */
    static final ApplicationID APPLICATION_ID =
            ApplicationID.fromHexString("a7a7a7a7000000000000000000000001");

    private ExecutionPlanStore planStore;
    private ApplicationStore appStore;

    private static final ExecutionPlanStore.ExecutionPlanListener NO_LISTENER =
            new ExecutionPlanStore.ExecutionPlanListener() {
                @Override
                public void onAddedExecutionPlan(JobID jobId) {}

                @Override
                public void onRemovedExecutionPlan(JobID jobId) {}
            };

    @Override
    public String planKeyPrefix() {
        return "executionPlan-";
    }

    @Override
    public List<String> extraKeyPrefixes() {
        return Collections.singletonList("application-");
    }

    @Override
    public Map<String, Object> writePlans(
            HighAvailabilityServices ha, Configuration conf, List<JobGraph> graphs) throws Exception {
        Map<String, Object> info = new LinkedHashMap<>();
        // The application as application mode persists it: PackagedProgramApplication hands out
        // its ApplicationStoreEntry (a PackagedProgramApplicationEntry) once it has a JarInfo.
        PackagedProgram program =
                PackagedProgram.newBuilder()
                        .setEntryPointClassName(FixtureApplication.class.getName())
                        .setConfiguration(conf)
                        .setArguments("--fixture", "libk8sha")
                        .build();
        PackagedProgramApplication app =
                new PackagedProgramApplication(
                        APPLICATION_ID,
                        program,
                        conf,
                        graphs.size(),
                        graphs.size(),
                        false,
                        false,
                        true,
                        new JarInfo("fixture-app.jar", new PermanentBlobKey()));
        Optional<ApplicationStoreEntry> entry = app.getApplicationStoreEntry();
        appStore = ha.getApplicationStore();
        appStore.start();
        if (entry.isPresent()) {
            appStore.putApplication(entry.get());
            info.put("applicationId", APPLICATION_ID.toHexString());
            info.put("applicationEntryClass", entry.get().getClass().getName());
        }
        planStore = ha.getExecutionPlanStore();
        planStore.start(NO_LISTENER);
        for (JobGraph g : graphs) {
            g.setApplicationId(APPLICATION_ID);
            planStore.putExecutionPlan(g);
        }
        return info;
    }

    @Override
    public void stopPlanStores() throws Exception {
        if (planStore != null) {
            planStore.stop();
        }
        if (appStore != null) {
            appStore.stop();
        }
    }

    @Override
    public CompletedCheckpointStore createCheckpointStore(
            CheckpointRecoveryFactory factory, JobID jobId, int retain, Executor ioExecutor)
            throws Exception {
        return factory.createRecoveredCompletedCheckpointStore(
                jobId, retain, SharedStateRegistry.DEFAULT_FACTORY, ioExecutor, RecoveryClaimMode.DEFAULT);
    }

    @Override
    public Map<String, Object> recoverPlans(
            Configuration conf, FlinkKubeClient client, String clusterConfigMap) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        ExecutionPlanStore s =
                KubernetesUtils.createExecutionPlanStore(
                        conf, client, clusterConfigMap, "fixturegen-reader");
        s.start(NO_LISTENER);
        try {
            List<Object> jobs = new ArrayList<>();
            List<JobID> ids = new ArrayList<>(s.getJobIds());
            ids.sort((a, b) -> a.toHexString().compareTo(b.toHexString()));
            for (JobID id : ids) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("jobId", id.toHexString());
                try {
                    ExecutionPlan p = s.recoverExecutionPlan(id);
                    j.put("recovered", p != null);
                    if (p != null) {
                        j.put("class", p.getClass().getName());
                        j.put("name", p.getName());
                        if (p instanceof JobGraph) {
                            JobGraph g = (JobGraph) p;
                            j.put("vertices", g.getNumberOfVertices());
                            j.put("applicationId",
                                    g.getApplicationId().map(ApplicationID::toHexString).orElse(null));
                        }
                    }
                } catch (Exception e) {
                    j.put("recovered", false);
                    j.put("error", String.valueOf(e));
                }
                jobs.add(j);
            }
            out.put("store", s.getClass().getName());
            out.put("jobs", jobs);
        } finally {
            s.stop();
        }
        ApplicationStore a =
                KubernetesUtils.createApplicationStore(conf, client, clusterConfigMap, "fixturegen-reader");
        a.start();
        try {
            List<Object> apps = new ArrayList<>();
            List<ApplicationID> ids = new ArrayList<>(a.getApplicationIds());
            ids.sort((x, y) -> x.toHexString().compareTo(y.toHexString()));
            for (ApplicationID id : ids) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("applicationId", id.toHexString());
                try {
                    Optional<ApplicationStoreEntry> e = a.recoverApplication(id);
                    m.put("recovered", e.isPresent());
                    if (e.isPresent()) {
                        m.put("class", e.get().getClass().getName());
                        m.put("name", e.get().getName());
                    }
                } catch (Exception ex) {
                    m.put("recovered", false);
                    m.put("error", String.valueOf(ex));
                }
                apps.add(m);
            }
            out.put("applicationStore", a.getClass().getName());
            out.put("applications", apps);
        } finally {
            a.stop();
        }
        return out;
    }
}
