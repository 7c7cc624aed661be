package io.libk8sha.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.libk8sha.Config;
import io.libk8sha.Context;
import io.libk8sha.Election;
import io.libk8sha.KubeLite;
import io.libk8sha.KubeLiteTest;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.flink.runtime.leaderelection.DefaultLeaderElectionService;
import org.apache.flink.runtime.leaderelection.LeaderContender;
import org.apache.flink.runtime.leaderelection.LeaderElection;
import org.apache.flink.runtime.leaderretrieval.DefaultLeaderRetrievalService;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalListener;
import org.junit.jupiter.api.Test;

/**
 * The drivers under Flink's own DefaultLeaderElectionService and
 * DefaultLeaderRetrievalService: two JobManagers' services (each its own context), their
 * contenders granted and revoked by Flink's code, the confirmed addresses retrieved through
 * Flink's retrieval service from a third context.
 */
class LeaderDriversTest extends KubeLiteTest {



  /** A contender that confirms at once, as Flink's components do, and records what it hears. */
  static final class Contender implements LeaderContender {
    final String address;
    final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    LeaderElection election;

    Contender(String address) {
      this.address = address;
    }

    @Override
    public void grantLeadership(UUID session) {
      events.add("granted " + session);
      election.confirmLeadershipAsync(session, address);
    }

    @Override
    public void revokeLeadership() {
      events.add("revoked");
    }

    @Override
    public void handleError(Exception e) {
      events.add("error " + e);
    }

    String await(String prefix) throws InterruptedException {
      for (;;) {
        String e = events.poll(BOUND.toSeconds(), TimeUnit.SECONDS);
        assertNotNull(e, address + ": no '" + prefix + "' within " + BOUND);
        assertTrue(!e.startsWith("error"), e);
        if (e.startsWith(prefix)) {
          return e;
        }
      }
    }
  }

  /** Records what a retrieval listener hears: "address session" or "none". */
  static final class Follower implements LeaderRetrievalListener {
    final BlockingQueue<String> seen = new LinkedBlockingQueue<>();

    @Override
    public void notifyLeaderAddress(String address, UUID session) {
      seen.add(address == null ? "none" : address + " " + session);
    }

    @Override
    public void handleError(Exception e) {
      seen.add("error " + e);
    }

    String await(String prefix) throws InterruptedException {
      for (;;) {
        String e = seen.poll(BOUND.toSeconds(), TimeUnit.SECONDS);
        assertNotNull(e, "no '" + prefix + "' retrieved within " + BOUND);
        if (e.startsWith(prefix)) {
          return e;
        }
      }
    }
  }

  @Test
  void flinksServicesElectConfirmRetrieveAndHandOver() throws Exception {
    String cluster = KubeLite.newClusterId("flink-drivers");
    try (Config c1 = server.config(cluster); Context jm1 = new Context(c1);
         Config c2 = server.config(cluster); Context jm2 = new Context(c2);
         Config c3 = server.config(cluster); Context client = new Context(c3)) {
      DefaultLeaderRetrievalService retrieval = new DefaultLeaderRetrievalService(
          new K8shaLeaderRetrievalDriverFactory(client, "resourcemanager"));
      Follower follower = new Follower();
      retrieval.start(follower);

      DefaultLeaderElectionService s1 = new DefaultLeaderElectionService(
          new K8shaLeaderElectionDriverFactory(jm1, new Election.Options().identity("jm-1")));
      Contender rm1 = new Contender("pekko://jm-1/rm");
      rm1.election = s1.createLeaderElection("resourcemanager");
      rm1.election.startLeaderElection(rm1);
      String granted = rm1.await("granted");
      UUID session1 = UUID.fromString(granted.substring("granted ".length()));
      assertEquals("pekko://jm-1/rm " + session1, follower.await("pekko://jm-1/rm"));
      assertTrue(rm1.election.hasLeadershipAsync(session1).get(60, TimeUnit.SECONDS));

      // A per-job component whose election closes while its JobManager still leads: Flink
      // deletes its leader information; retrievers of it see no leader.
      DefaultLeaderRetrievalService jobRetrieval = new DefaultLeaderRetrievalService(
          new K8shaLeaderRetrievalDriverFactory(client, "job-0123456789abcdef0123456789abcdef"));
      Follower jobFollower = new Follower();
      jobRetrieval.start(jobFollower);
      Contender job = new Contender("pekko://jm-1/job");
      job.election = s1.createLeaderElection("job-0123456789abcdef0123456789abcdef");
      job.election.startLeaderElection(job);
      job.await("granted");
      jobFollower.await("pekko://jm-1/job");
      job.election.close();
      jobFollower.await("none");

      // The standby.
      DefaultLeaderElectionService s2 = new DefaultLeaderElectionService(
          new K8shaLeaderElectionDriverFactory(jm2, new Election.Options().identity("jm-2")));
      Contender rm2 = new Contender("pekko://jm-2/rm");
      rm2.election = s2.createLeaderElection("resourcemanager");
      rm2.election.startLeaderElection(rm2);

      // jm-1 shuts down: its component is revoked, the lock released; jm-2 leads at once.
      rm1.election.close();
      s1.close();
      String granted2 = rm2.await("granted");
      UUID session2 = UUID.fromString(granted2.substring("granted ".length()));
      assertTrue(!session2.equals(session1));
      assertEquals("pekko://jm-2/rm " + session2, follower.await("pekko://jm-2/rm"));

      rm2.election.close();
      s2.close();
      retrieval.stop();
      jobRetrieval.stop();
    }
  }
}
