package io.libk8sha.tests.flink;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.kubernetes.kubeclient.FlinkKubeClient;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.jobgraph.JobGraph;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/** What differs between the Flink 1.x and 2.x lines; one implementation per source dir. */
interface FlinkLine {
    /** Prefix of the job graph / execution plan keys in the cluster ConfigMap. */
    String planKeyPrefix();

    /** Further key prefixes this line stores in the cluster ConfigMap (2.3: "application-"). */
    List<String> extraKeyPrefixes();

    /** Puts the job graphs (and, where the line has it, an application) through the HA services' stores. */
    Map<String, Object> writePlans(HighAvailabilityServices ha, Configuration conf, List<JobGraph> graphs)
            throws Exception;

    /** Stops the stores started by writePlans, as a suspending JobManager does (data kept). */
    void stopPlanStores() throws Exception;

    CompletedCheckpointStore createCheckpointStore(
            CheckpointRecoveryFactory factory, JobID jobId, int retain, Executor ioExecutor) throws Exception;

    /** Recovers every plan (and application) through Flink's own store classes. */
    Map<String, Object> recoverPlans(Configuration conf, FlinkKubeClient client, String clusterConfigMap)
            throws Exception;
}
