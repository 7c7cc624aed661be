package io.libk8sha.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.libk8sha.K8shaException;
import io.libk8sha.KubeLite;
import io.libk8sha.KubeLiteTest;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.flink.api.common.ApplicationID;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory;
import org.apache.flink.runtime.application.AbstractApplication;
import org.apache.flink.runtime.blob.PermanentBlobService;
import org.apache.flink.runtime.highavailability.HighAvailabilityServices;
import org.apache.flink.runtime.jobmanager.ApplicationStore;
import org.apache.flink.runtime.jobmanager.ApplicationStoreEntry;
import org.junit.jupiter.api.Test;

/**
 * Flink 2.3's application store on libk8sha: applications beside the execution plans in the
 * cluster ConfigMap, recovered by the next leader, the deposed leader's writes refused, and
 * entries of Flink's own Kubernetes HA read (and, in Flink's pointer format, written for it).
 */
@SuppressWarnings("try") // (Flink's close() throws Exception)
class ApplicationStoreTest extends KubeLiteTest {
  /** An application entry as Flink keeps one (what it makes of it on recovery is not needed). */
  static final class Entry implements ApplicationStoreEntry {
    private static final long serialVersionUID = 1L;
    private final ApplicationID id;
    private final String name;

    Entry(ApplicationID id, String name) {
      this.id = id;
      this.name = name;
    }

    @Override
    public AbstractApplication getApplication(PermanentBlobService blobs,
        Collection<JobInfo> recovered, Collection<JobInfo> terminal) {
      throw new UnsupportedOperationException("not run in this test");
    }

    @Override
    public ApplicationID getApplicationId() {
      return id;
    }

    @Override
    public String getName() {
      return name;
    }
  }

  private static String nameOf(ApplicationStore s, ApplicationID id) throws Exception {
    Optional<ApplicationStoreEntry> e = s.recoverApplication(id);
    return e.map(ApplicationStoreEntry::getName).orElse(null);
  }

  @Test
  void applicationsFailOverBesideTheExecutionPlans() throws Exception {
    String cluster = KubeLite.newClusterId("flink-apps");
    ApplicationID app = ApplicationID.generate();
    JobID job = JobID.generate();
    ExecutorService io = Executors.newFixedThreadPool(2);
    Configuration conf = HaServicesTest.flinkConfiguration(cluster);
    try (HighAvailabilityServices jm1 = HaServicesTest.services(conf, io);
         HighAvailabilityServices jm2 = HaServicesTest.services(conf, io)) {
      LeaderDriversTest.Contender c1 = HaServicesTest.lead(jm1, "jm-1");
      c1.await("granted");
      LeaderDriversTest.Contender c2 = HaServicesTest.lead(jm2, "jm-2");
      ApplicationStore apps1 = jm1.getApplicationStore();
      apps1.start();
      apps1.putApplication(new Entry(app, "application one"));
      Graphs plans1 = FlinkLine.graphs(jm1);
      plans1.put(job, "a job of it");
      assertEquals(List.of(app), List.copyOf(apps1.getApplicationIds()));
      assertEquals(List.of(job), List.copyOf(plans1.ids()));
      assertEquals("application one", nameOf(apps1, app));

      c1.election.close();
      c2.await("granted");
      ApplicationStore apps2 = jm2.getApplicationStore();
      apps2.start();
      assertEquals(List.of(app), List.copyOf(apps2.getApplicationIds()));
      assertEquals("application one", nameOf(apps2, app));
      assertEquals("a job of it", FlinkLine.graphs(jm2).name(job));
      K8shaException refused = assertThrows(K8shaException.class,
          () -> apps1.putApplication(new Entry(app, "late write")));
      assertTrue(refused.code() == K8shaException.ENOTLEADER
          || refused.code() == K8shaException.ECANCELED, refused.getMessage());
      apps2.globalCleanupAsync(app, io).join();
      assertEquals(List.of(), List.copyOf(apps2.getApplicationIds()));
      assertEquals("a job of it", FlinkLine.graphs(jm2).name(job));
      apps1.stop();
      apps2.stop();
      c2.election.close();
    } finally {
      io.shutdownNow();
    }
  }

  @Test
  void applicationsOfFlinksOwnHaAreReadAndWrittenForIt() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(HaServicesTest.flinksOwnHaCanTakeOver(),
        "Flink's own HA taking over a released lock needs Flink's documented RBAC");
    String cluster = KubeLite.newClusterId("flink-apps-switch");
    ApplicationID fromFlink = ApplicationID.generate();
    ApplicationID fromLibk8sha = ApplicationID.generate();
    ExecutorService io = Executors.newFixedThreadPool(2);
    Configuration conf = HaServicesTest.flinkConfiguration(cluster);
    conf.setString("high-availability.cluster-id", cluster);
    conf.setString("libk8sha.flink.pointer-format", "flink");
    Configuration flinkConf = new Configuration(conf);
    flinkConf.setString("high-availability.type", "kubernetes");
    try {
      try (HighAvailabilityServices flink =
               new KubernetesHaServicesFactory().createHAServices(flinkConf, io)) {
        LeaderDriversTest.Contender c = HaServicesTest.lead(flink, "flink-jm");
        c.await("granted");
        ApplicationStore apps = flink.getApplicationStore();
        apps.start();
        apps.putApplication(new Entry(fromFlink, "written by Flink"));
        apps.stop();
        c.election.close();
      }
      try (HighAvailabilityServices jm = HaServicesTest.services(conf, io)) {
        LeaderDriversTest.Contender c = HaServicesTest.lead(jm, "jm");
        c.await("granted");
        ApplicationStore apps = jm.getApplicationStore();
        apps.start();
        assertEquals("written by Flink", nameOf(apps, fromFlink));
        apps.putApplication(new Entry(fromLibk8sha, "written by libk8sha"));
        apps.stop();
        c.election.close();
      }
      try (HighAvailabilityServices flink =
               new KubernetesHaServicesFactory().createHAServices(flinkConf, io)) {
        LeaderDriversTest.Contender c = HaServicesTest.lead(flink, "flink-jm");
        c.await("granted");
        ApplicationStore apps = flink.getApplicationStore();
        apps.start();
        assertEquals(2, apps.getApplicationIds().size());
        assertEquals("written by libk8sha", nameOf(apps, fromLibk8sha));
        assertEquals("written by Flink", nameOf(apps, fromFlink));
        apps.stop();
        c.election.close();
      }
    } finally {
      io.shutdownNow();
    }
  }
}
