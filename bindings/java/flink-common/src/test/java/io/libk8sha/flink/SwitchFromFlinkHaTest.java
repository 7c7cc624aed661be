package io.libk8sha.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.libk8sha.KubeLite;
import io.libk8sha.KubeLiteTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.runtime.checkpoint.CheckpointsCleaner;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster that ran on Flink's own Kubernetes HA ({@link FlinkLine#VERSION}) switches to libk8sha: the new
 * JobManager recovers the job graph and the checkpoints Flink's own stores wrote (Flink's
 * serialized state handles as pointers, read through them), and its next checkpoint retires
 * one of Flink's, blob included.
 */
@SuppressWarnings("try") // (Flink's close() throws Exception)
class SwitchFromFlinkHaTest extends KubeLiteTest {
  @TempDir Path dir;

  @Test
  void checkpointsAndGraphsFlinkWroteAreRecovered() throws Exception {
    String cluster = KubeLite.newClusterId("flink-switch");
    JobID job = JobID.generate();
    ExecutorService io = Executors.newFixedThreadPool(2);
    CheckpointsCleaner cleaner = new CheckpointsCleaner();
    Path ha = dir.resolve("ha");
    Configuration conf = HaServicesTest.flinkConfiguration(cluster);
    conf.setString("high-availability.storageDir", ha.toUri().toString());
    try {
      // Flink's own HA services: three checkpoints (two retained) and the job graph
      Configuration flinkConf = new Configuration(conf);
      flinkConf.setString("high-availability.type", "kubernetes");
      flinkConf.setString("high-availability.cluster-id", cluster);
      try (HighAvailabilityServices flink =
               new KubernetesHaServicesFactory().createHAServices(flinkConf, io)) {
        LeaderDriversTest.Contender c = HaServicesTest.lead(flink, "flink-jm");
        c.await("granted");
        Graphs graphs = FlinkLine.graphs(flink);
        graphs.put(job, "switched job");
        graphs.stop();
        CompletedCheckpointStore store = HaServicesTest.store(flink, job);
        CheckpointIDCounter counter = flink.getCheckpointRecoveryFactory()
            .createCheckpointIDCounter(job);
        counter.start();
        for (int i = 0; i < 3; i++) {
          long id = counter.getAndIncrement();
          store.addCheckpointAndSubsumeOldestOne(
              Checkpoints.of(job, id, Checkpoints.Kind.CHECKPOINT, dir), cleaner, () -> {});
        }
        assertEquals(List.of(2L, 3L), HaServicesTest.ids(store.getAllCheckpoints()));
        c.election.close();
      }
      List<Path> flinkBlobs = blobs(ha);
      assertEquals(3, flinkBlobs.size(), "Flink's blobs: " + flinkBlobs); // 2 checkpoints, 1 graph

      // libk8sha's services on the same cluster
      try (HighAvailabilityServices jm = HaServicesTest.services(conf, io)) {
        LeaderDriversTest.Contender c = HaServicesTest.lead(jm, "jm");
        c.await("granted");
        Graphs graphs = FlinkLine.graphs(jm);
        assertEquals(List.of(job), List.copyOf(graphs.ids()));
        assertEquals("switched job", graphs.name(job));
        graphs.stop();
        CompletedCheckpointStore store = HaServicesTest.store(jm, job);
        assertEquals(List.of(2L, 3L), HaServicesTest.ids(store.getAllCheckpoints()));
        assertEquals(job, store.getLatestCheckpoint().getJobId());
        CheckpointIDCounter counter = jm.getCheckpointRecoveryFactory()
            .createCheckpointIDCounter(job);
        assertEquals(4L, counter.get());
        // the next checkpoint retires Flink's checkpoint 2, its blob too
        store.addCheckpointAndSubsumeOldestOne(
            Checkpoints.of(job, counter.getAndIncrement(), Checkpoints.Kind.CHECKPOINT, dir),
            cleaner, () -> {});
        assertEquals(List.of(3L, 4L),
            HaServicesTest.ids(HaServicesTest.store(jm, job).getAllCheckpoints()));
        List<Path> now = blobs(ha);
        assertEquals(3, now.size(), "blobs: " + now);
        assertFalse(now.containsAll(flinkBlobs), "a blob of Flink's went: " + now);
        // a blob of Flink's cut short: the recovery fails and names the checkpoint
        Path three = flinkBlobs.stream().filter(now::contains)
            .filter(p -> p.getFileName().toString().startsWith("completedCheckpoint"))
            .findFirst().orElseThrow();
        Files.write(three, new byte[] {1, 2, 3});
        Exception damaged = assertThrows(Exception.class, () -> HaServicesTest.store(jm, job));
        assertTrue(damaged.getMessage().contains("checkpoint 3"), damaged.getMessage());
        assertTrue(String.valueOf(damaged.getCause()).contains("3 bytes, Flink's handle says"),
            String.valueOf(damaged.getCause()));
        c.election.close();
      }
    } finally {
      io.shutdownNow();
    }
  }

  /**
   * And back: with {@code libk8sha.flink.pointer-format: flink} the entries are Flink's own
   * handles of blobs Flink's own writer put, so Flink's own HA services recover the job graph and
   * the checkpoints (and libk8sha reads them too).
   */
  @Test
  void flinksOwnHaRecoversWhatLibk8shaWroteInFlinksFormat() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(HaServicesTest.flinksOwnHaCanTakeOver(),
        "Flink's own HA taking over a released lock needs Flink's documented RBAC");
    String cluster = KubeLite.newClusterId("flink-back");
    JobID job = JobID.generate();
    ExecutorService io = Executors.newFixedThreadPool(2);
    CheckpointsCleaner cleaner = new CheckpointsCleaner();
    Path ha = dir.resolve("ha-back");
    Configuration conf = HaServicesTest.flinkConfiguration(cluster);
    conf.setString("high-availability.storageDir", ha.toUri().toString());
    conf.setString("high-availability.cluster-id", cluster);
    conf.setString("libk8sha.flink.pointer-format", "flink");
    try {
      try (HighAvailabilityServices jm = HaServicesTest.services(conf, io)) {
        LeaderDriversTest.Contender c = HaServicesTest.lead(jm, "jm");
        c.await("granted");
        Graphs graphs = FlinkLine.graphs(jm);
        graphs.put(job, "going back");
        graphs.put(job, "going back, again"); // (replaced: one blob)
        graphs.stop();
        CompletedCheckpointStore store = HaServicesTest.store(jm, job);
        CheckpointIDCounter counter = jm.getCheckpointRecoveryFactory()
            .createCheckpointIDCounter(job);
        for (int i = 0; i < 3; i++) {
          store.addCheckpointAndSubsumeOldestOne(Checkpoints.of(job, counter.getAndIncrement(),
              Checkpoints.Kind.CHECKPOINT, dir), cleaner, () -> {});
        }
        assertEquals(List.of(2L, 3L), HaServicesTest.ids(store.getAllCheckpoints()));
        // libk8sha reads its own entries in Flink's format back
        assertEquals(List.of(2L, 3L),
            HaServicesTest.ids(HaServicesTest.store(jm, job).getAllCheckpoints()));
        c.election.close();
      }
      assertEquals(3, blobs(ha).size(), "blobs: " + blobs(ha)); // 2 checkpoints, 1 graph

      Configuration flinkConf = new Configuration(conf);
      flinkConf.setString("high-availability.type", "kubernetes");
      try (HighAvailabilityServices flink =
               new KubernetesHaServicesFactory().createHAServices(flinkConf, io)) {
        LeaderDriversTest.Contender c = HaServicesTest.lead(flink, "flink-jm");
        c.await("granted");
        Graphs graphs = FlinkLine.graphs(flink);
        assertEquals("going back, again", graphs.name(job));
        graphs.stop();
        CompletedCheckpointStore store = HaServicesTest.store(flink, job);
        assertEquals(List.of(2L, 3L), HaServicesTest.ids(store.getAllCheckpoints()));
        assertEquals(4L, flink.getCheckpointRecoveryFactory().createCheckpointIDCounter(job)
            .get());
        c.election.close();
      }
    } finally {
      io.shutdownNow();
    }
  }

  /** A pointer format that is neither is refused, naming the option. */
  @Test
  void anUnknownPointerFormatIsRefused() throws Exception {
    Configuration conf = HaServicesTest.flinkConfiguration(KubeLite.newClusterId("format"));
    conf.setString("libk8sha.flink.pointer-format", "java");
    ExecutorService io = Executors.newFixedThreadPool(1);
    try {
      Exception e = assertThrows(Exception.class, () -> HaServicesTest.services(conf, io));
      Throwable t = e;
      while (t.getCause() != null && !t.getMessage().contains("pointer-format")) {
        t = t.getCause();
      }
      assertTrue(t.getMessage().contains("libk8sha.flink.pointer-format: 'java'"), t.getMessage());
    } finally {
      io.shutdownNow();
    }
  }

  /** The HA blobs under the storage directory (checkpoint pointers' and job graphs'). */
  private static List<Path> blobs(Path ha) throws java.io.IOException {
    try (Stream<Path> s = Files.walk(ha)) {
      return s.filter(Files::isRegularFile)
          .filter(p -> p.getFileName().toString().startsWith("completedCheckpoint")
              || p.getFileName().toString().startsWith(FlinkLine.GRAPH_BLOB))
          .sorted().toList();
    }
  }
}
