package io.libk8sha.flink.it;

import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Collections;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.runtime.checkpoint.CheckpointProperties;
import org.apache.flink.runtime.checkpoint.CheckpointRecoveryFactory;
import org.apache.flink.runtime.checkpoint.CheckpointRetentionPolicy;
import org.apache.flink.runtime.checkpoint.CheckpointsCleaner;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.highavailability.HighAvailabilityServicesUtils;
import org.apache.flink.runtime.leaderelection.LeaderContender;
import org.apache.flink.runtime.leaderelection.LeaderElection;
import org.apache.flink.runtime.state.SharedStateRegistry;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.apache.flink.runtime.state.filesystem.FsCompletedCheckpointStorageLocation;

/**
 * What a job ConfigMap holds as retained checkpoints grow: the HA services named by
 * {@code high-availability.type} in CONF (Flink's own {@code kubernetes}, or libk8sha's), leading,
 * add checkpoints 1..N with {@code num-retained} N through the services' own completed-checkpoint
 * store, and after each, at the counts asked, print a JSON line with the ConfigMap's data bytes
 * (read from the server) and the add's milliseconds; the first add that fails prints its error
 * and ends the run. A benchmark (bench.py runs it), not a test.
 *   RetainedBench CONF_DIR SERVER_URL NAMESPACE N CHECKPOINT_DIR
 */
public final class RetainedBench {
  private RetainedBench() {}

  public static void main(String[] args) {
    int status = 0;
    try {
      run(args);
    } catch (Throwable t) {
      t.printStackTrace();
      status = 1;
    }
    System.exit(status); // (Flink's services leave threads that are not daemons)
  }

  private static void run(String[] args) throws Exception {
    Configuration conf = org.apache.flink.configuration.GlobalConfiguration
        .loadConfiguration(args[0]);
    String server = args[1];
    String namespace = args[2];
    int n = Integer.parseInt(args[3]);
    Path dir = Path.of(args[4]);
    PrintStream out = System.out;
    ExecutorService io = Executors.newFixedThreadPool(2);
    HttpClient http = HttpClient.newHttpClient();
    JobID job = JobID.generate();
    String cm = server + "/api/v1/namespaces/" + namespace + "/configmaps/"
        + conf.getString("kubernetes.cluster-id", "") + "-" + job + "-config-map";
    HighAvailabilityServices ha = HighAvailabilityServicesUtils.createAvailableOrEmbeddedServices(
        conf, io, e -> {
          e.printStackTrace();
          System.exit(3);
        });
    CompletableFuture<UUID> granted = new CompletableFuture<>();
    LeaderElection election = ha.getResourceManagerLeaderElection();
    election.startLeaderElection(new LeaderContender() {
      @Override
      public void grantLeadership(UUID session) {
        granted.complete(session);
      }

      @Override
      public void revokeLeadership() {}

      @Override
      public void handleError(Exception e) {
        granted.completeExceptionally(e);
      }
    });
    granted.get(120, TimeUnit.SECONDS);
    CheckpointRecoveryFactory recovery = ha.getCheckpointRecoveryFactory();
    CompletedCheckpointStore store = recovered(recovery, job, n, io);
    CheckpointIDCounter counter = recovery.createCheckpointIDCounter(job);
    counter.start();
    CheckpointsCleaner cleaner = new CheckpointsCleaner();
    for (int i = 1; i <= n; i++) {
      long id = counter.getAndIncrement();
      long t0 = System.nanoTime();
      try {
        store.addCheckpointAndSubsumeOldestOne(checkpoint(job, id, dir), cleaner, () -> {});
      } catch (Exception e) {
        String m = String.valueOf(e.getMessage());
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
          m += " / " + c.getMessage();
        }
        out.printf("{\"retained\": %d, \"failed\": \"%s\"}%n", i - 1,
            m.replace("\\", "\\\\").replace("\"", "'").replace("\n", " ")
                .substring(0, Math.min(m.length(), 600)));
        break;
      }
      double ms = (System.nanoTime() - t0) / 1e6;
      if (i <= 10 || i % 50 == 0 || i == n) {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(cm)).build(),
            HttpResponse.BodyHandlers.ofString());
        out.printf("{\"retained\": %d, \"add_ms\": %.2f, \"data_bytes\": %d}%n", i, ms,
            dataBytes(r.body()));
      }
    }
    election.close();
    ha.close();
    io.shutdownNow();
  }

  /** The sum of the ConfigMap's data values' lengths (what the 1 MiB limit counts). */
  private static long dataBytes(String json) throws Exception {
    org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode data =
        new org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper().readTree(json).path("data");
    long total = 0;
    for (java.util.Iterator<String> it = data.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      total += k.length() + data.get(k).asText().length();
    }
    return total;
  }

  /** Flink 1.x passes a RestoreMode, 2.x a RecoveryClaimMode: their DEFAULT either way. */
  private static CompletedCheckpointStore recovered(CheckpointRecoveryFactory f, JobID job,
      int retained, ExecutorService io) throws Exception {
    for (Method m : CheckpointRecoveryFactory.class.getMethods()) {
      if (m.getName().equals("createRecoveredCompletedCheckpointStore")
          && m.getParameterCount() == 5) {
        Object mode = m.getParameterTypes()[4].getField("DEFAULT").get(null);
        return (CompletedCheckpointStore) m.invoke(f, job, retained,
            SharedStateRegistry.DEFAULT_FACTORY, io, mode);
      }
    }
    throw new IllegalStateException("no createRecoveredCompletedCheckpointStore");
  }

  private static CompletedCheckpoint checkpoint(JobID job, long id, Path dir) {
    org.apache.flink.core.fs.Path chk =
        new org.apache.flink.core.fs.Path(dir.resolve("chk-" + id).toUri());
    FileStateHandle metadata =
        new FileStateHandle(new org.apache.flink.core.fs.Path(chk, "_metadata"), 0);
    return new CompletedCheckpoint(job, id, id * 10, id * 10 + 1, Collections.emptyMap(),
        Collections.emptyList(),
        CheckpointProperties.forCheckpoint(CheckpointRetentionPolicy.NEVER_RETAIN_AFTER_TERMINATION),
        new FsCompletedCheckpointStorageLocation(
            org.apache.flink.core.fs.local.LocalFileSystem.getSharedInstance(), chk, metadata,
            chk.toString()),
        null);
  }
}
