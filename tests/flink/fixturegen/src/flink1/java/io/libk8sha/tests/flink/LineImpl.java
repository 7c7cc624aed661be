package io.libk8sha.tests.flink;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.kubernetes.kubeclient.FlinkKubeClient;
import org.apache.flink.kubernetes.utils.KubernetesUtils;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmanager.JobGraphStore;
import org.apache.flink.runtime.state.SharedStateRegistry;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/** Flink 1.x: JobGraphStore, keys jobGraph-<jobid>, blobs submittedJobGraph<hex>. */
final class LineImpl implements FlinkLine {
    private JobGraphStore store;

    private static final JobGraphStore.JobGraphListener NO_LISTENER =
            new JobGraphStore.JobGraphListener() {
                @Override
                public void onAddedJobGraph(JobID jobId) {}

                @Override
                public void onRemovedJobGraph(JobID jobId) {}
            };

    @Override
    public String planKeyPrefix() {
        return "jobGraph-";
    }

    @Override
    public List<String> extraKeyPrefixes() {
        return Collections.emptyList();
    }

    @Override
    public Map<String, Object> writePlans(
            HighAvailabilityServices ha, Configuration conf, List<JobGraph> graphs) throws Exception {
        store = ha.getJobGraphStore();
        store.start(NO_LISTENER);
        for (JobGraph g : graphs) {
            store.putJobGraph(g);
        }
        return new LinkedHashMap<>();
    }

    @Override
    public void stopPlanStores() throws Exception {
        if (store != null) {
            store.stop();
        }
    }

    @Override
    public CompletedCheckpointStore createCheckpointStore(
            CheckpointRecoveryFactory factory, JobID jobId, int retain, Executor ioExecutor)
            throws Exception {
        return factory.createRecoveredCompletedCheckpointStore(
                jobId, retain, SharedStateRegistry.DEFAULT_FACTORY, ioExecutor, RestoreMode.DEFAULT);
    }

    @Override
    public Map<String, Object> recoverPlans(
            Configuration conf, FlinkKubeClient client, String clusterConfigMap) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        JobGraphStore s =
                KubernetesUtils.createJobGraphStore(conf, client, clusterConfigMap, "fixturegen-reader");
        s.start(NO_LISTENER);
        try {
            List<Object> jobs = new ArrayList<>();
            List<JobID> ids = new ArrayList<>(s.getJobIds());
            ids.sort((a, b) -> a.toHexString().compareTo(b.toHexString()));
            for (JobID id : ids) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("jobId", id.toHexString());
                try {
                    JobGraph g = s.recoverJobGraph(id);
                    j.put("recovered", g != null);
                    if (g != null) {
                        j.put("name", g.getName());
                        j.put("vertices", g.getNumberOfVertices());
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
        return out;
    }
}
