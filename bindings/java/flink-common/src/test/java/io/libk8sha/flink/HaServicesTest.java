package io.libk8sha.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.libk8sha.K8shaException;
import io.libk8sha.KubeLite;
import io.libk8sha.KubeLiteTest;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.CheckpointIDCounter;
import org.apache.flink.runtime.checkpoint.CheckpointsCleaner;
import org.apache.flink.runtime.checkpoint.CompletedCheckpoint;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStore;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.highavailability.HighAvailabilityServicesUtils;
import org.apache.flink.runtime.leaderelection.LeaderElection;
import org.apache.flink.runtime.util.LeaderRetrievalUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HA services as Flink loads them ({@link FlinkLine#VERSION}) (high-availability.type naming the factory), for
 * two JobManagers: leadership, completed checkpoints with Flink's subsumption in one update,
 * recovery by the next leader, and the old leader's writes refused.
 */
@SuppressWarnings("try") // (Flink's close() throws Exception)
class HaServicesTest extends KubeLiteTest {
  @TempDir Path dir;

  static Configuration flinkConfiguration(String cluster) {
    Configuration c = new Configuration();
    c.setString("high-availability.type", K8shaHaServicesFactory.class.getName());
    c.setString("kubernetes.config.file", server.kubeconfig.toString());
    c.setString("kubernetes.cluster-id", cluster);
    c.setString("kubernetes.namespace", "flink");
    c.setString("high-availability.storageDir", server.storage.toString()); // (no scheme)
    c.setString("high-availability.kubernetes.leader-election.lease-duration", "3 s");
    c.setString("high-availability.kubernetes.leader-election.renew-deadline", "2 s");
    c.setString("high-availability.kubernetes.leader-election.retry-period", "200 ms");
    return c;
  }

  /**
   * Whether Flink's own Kubernetes HA may take over a lock another holder released: on kube-lite,
   * or on a real server as a user with the RBAC of Flink's documentation (tests/realkube sets
   * io.libk8sha.test.flinkRbac for its service account flinkedit). As a user bound to libk8sha's
   * Role (no patch), Flink's own election was never granted an existing lock.
   */
  static boolean flinksOwnHaCanTakeOver() {
    return server.isKubeLite() || Boolean.getBoolean("io.libk8sha.test.flinkRbac");
  }

  static HighAvailabilityServices services(Configuration c, ExecutorService io) throws Exception {
    return HighAvailabilityServicesUtils.createAvailableOrEmbeddedServices(c, io,
        e -> {
          throw new AssertionError("fatal error", e);
        });
  }

  static LeaderDriversTest.Contender lead(HighAvailabilityServices s, String address)
      throws Exception {
    LeaderDriversTest.Contender c = new LeaderDriversTest.Contender(address);
    c.election = s.getResourceManagerLeaderElection();
    c.election.startLeaderElection(c);
    return c;
  }

  static CompletedCheckpointStore store(HighAvailabilityServices s, JobID job) throws Exception {
    return FlinkLine.recoveredStore(s, job, 2);
  }

  static List<Long> ids(List<CompletedCheckpoint> list) {
    return list.stream().map(CompletedCheckpoint::getCheckpointID).toList();
  }

  /**
   * The server applies a checkpoint's add but its answer never arrives: Flink hears
   * PossibleInconsistentStateException (so it keeps the checkpoint's files and fails over), and
   * the store indeed holds the checkpoint, its blob intact.
   */
  @Test
  void anAddWhoseAnswerIsLostIsPossiblyInconsistent() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(server.canInjectFaults(),
        "needs kube-lite's fault rules");
    String cluster = KubeLite.newClusterId("flink-unknown");
    JobID job = JobID.generate();
    ExecutorService io = Executors.newFixedThreadPool(2);
    CheckpointsCleaner cleaner = new CheckpointsCleaner();
    try (HighAvailabilityServices jm = services(flinkConfiguration(cluster), io)) {
      LeaderDriversTest.Contender c = lead(jm, "jm");
      c.await("granted");
      CompletedCheckpointStore s = store(jm, job);
      s.addCheckpointAndSubsumeOldestOne(Checkpoints.of(job, 1, Checkpoints.Kind.CHECKPOINT,
          dir), cleaner, () -> {});
      server.addFault("{\"verbs\":[\"update\",\"patch\"],\"name\":\"" + cluster + "-" + job
          + "-config-map\",\"afterApply\":true,\"drop\":true,\"count\":1}");
      org.apache.flink.runtime.persistence.PossibleInconsistentStateException unknown =
          assertThrows(org.apache.flink.runtime.persistence.PossibleInconsistentStateException.class,
              () -> s.addCheckpointAndSubsumeOldestOne(Checkpoints.of(job, 2,
                  Checkpoints.Kind.CHECKPOINT, dir), cleaner, () -> {}));
      assertTrue(unknown.getMessage().contains("checkpoint 2"), unknown.getMessage());
      // what Flink recovers after its failover: the checkpoint landed, and reads back
      assertEquals(List.of(1L, 2L), ids(store(jm, job).getAllCheckpoints()));
      c.election.close();
    } finally {
      io.shutdownNow();
    }
  }

  @Test
  void checkpointsFailOverToTheNextLeader() throws Exception {
    String cluster = KubeLite.newClusterId("flink-ha");
    JobID job = JobID.generate();
    ExecutorService io = Executors.newFixedThreadPool(2);
    CheckpointsCleaner cleaner = new CheckpointsCleaner();
    try (HighAvailabilityServices jm1 = services(flinkConfiguration(cluster), io);
         HighAvailabilityServices jm2 = services(flinkConfiguration(cluster), io)) {
      assertInstanceOf(K8shaHaServices.class, jm1);
      LeaderDriversTest.Contender c1 = lead(jm1, "jm-1");
      c1.await("granted");
      LeaderDriversTest.Contender c2 = lead(jm2, "jm-2");
      // the rest endpoint's address, as Flink's clients find it
      assertEquals("jm-1", LeaderRetrievalUtils.retrieveLeaderInformation(
          jm2.getResourceManagerLeaderRetriever(), java.time.Duration.ofSeconds(60))
          .getLeaderAddress());

      CompletedCheckpointStore s1 = store(jm1, job);
      CheckpointIDCounter counter = jm1.getCheckpointRecoveryFactory()
          .createCheckpointIDCounter(job);
      assertEquals(0, s1.getNumberOfRetainedCheckpoints());
      Checkpoints.Kind[] plan = {Checkpoints.Kind.CHECKPOINT, Checkpoints.Kind.CHECKPOINT,
          Checkpoints.Kind.SAVEPOINT, Checkpoints.Kind.SAVEPOINT, Checkpoints.Kind.CHECKPOINT};
      for (Checkpoints.Kind kind : plan) {
        long id = counter.getAndIncrement();
        s1.addCheckpointAndSubsumeOldestOne(Checkpoints.of(job, id, kind, dir), cleaner, () -> {});
      }
      // Flink's rules, num-retained 2: 2 outlives the savepoints 3 and 4 (the newest checkpoint
      // then), and goes with checkpoint 5
      assertEquals(List.of(4L, 5L), ids(s1.getAllCheckpoints()));
      assertEquals(6L, counter.get());

      // jm-1 leaves (its election released at once): jm-2 leads and recovers the same
      c1.election.close();
      c2.await("granted");
      CompletedCheckpointStore s2 = store(jm2, job);
      assertEquals(List.of(4L, 5L), ids(s2.getAllCheckpoints()));
      assertTrue(s2.getAllCheckpoints().get(0).getProperties().isSavepoint());
      assertEquals(6L, jm2.getCheckpointRecoveryFactory().createCheckpointIDCounter(job).get());

      // the deposed leader's commit is refused (a definite failure: Flink discards its files)
      K8shaException refused = assertThrows(K8shaException.class,
          () -> s1.addCheckpointAndSubsumeOldestOne(
              Checkpoints.of(job, 6, Checkpoints.Kind.CHECKPOINT, dir), cleaner, () -> {}));
      assertTrue(refused.code() == K8shaException.ENOTLEADER
          || refused.code() == K8shaException.ECANCELED, refused.getMessage());
      s2.addCheckpointAndSubsumeOldestOne(Checkpoints.of(job, 6, Checkpoints.Kind.CHECKPOINT,
          dir), cleaner, () -> {});
      assertEquals(List.of(5L, 6L), ids(store(jm2, job).getAllCheckpoints()));

      // the job ends: its checkpoints, counter and ConfigMap go
      s2.shutdown(org.apache.flink.api.common.JobStatus.FINISHED, cleaner);
      jm2.globalCleanupAsync(job, io).join();
      assertEquals(0, store(jm2, job).getNumberOfRetainedCheckpoints());
      c2.election.close();
    } finally {
      io.shutdownNow();
    }
  }
}
