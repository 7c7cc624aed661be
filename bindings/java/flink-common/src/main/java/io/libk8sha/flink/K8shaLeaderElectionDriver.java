package io.libk8sha.flink;

import io.libk8sha.Context;
import io.libk8sha.Election;
import io.libk8sha.ElectionListener;
import io.libk8sha.K8shaException;
import java.util.UUID;
import org.apache.flink.runtime.leaderelection.LeaderElectionDriver;
import org.apache.flink.runtime.leaderelection.LeaderInformation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flink's leader election driver on libk8sha: one contender per JobManager process on the
 * cluster's lock (Flink's layout, shareable with Flink's own HA), publishing each component's
 * address under {@code org.apache.flink.k8s.leader.<component>} as Flink does. The session id
 * Flink confirms with is the one the library granted, so every published entry belongs to that
 * leadership; a confirmation from an older session is dropped.
 */
public final class K8shaLeaderElectionDriver implements LeaderElectionDriver {
  private static final Logger LOG = LoggerFactory.getLogger(K8shaLeaderElectionDriver.class);

  private final Election election;
  private volatile UUID session; // the current leadership's, as granted
  private volatile boolean closing; // (a write cut short by the stop is no news: the release
                                    // removes what was published)

  K8shaLeaderElectionDriver(Context ctx, Election.Options options, Listener listener) {
    this.election = new Election(ctx, options, new ElectionListener() {
      @Override
      public void granted(String sessionId, long term) {
        UUID s = UUID.fromString(sessionId);
        session = s;
        LOG.info("leading in term {}, session {}", term, s);
        listener.onGrantLeadership(s);
      }

      @Override
      public void revoked(int reason) {
        session = null;
        LOG.info("leadership revoked: {}", new K8shaException(reason, "revoked").codeName());
        listener.onRevokeLeadership();
      }

      @Override
      public void leaderChanged(String identity) {
        LOG.info("lock holder: {}", identity == null ? "none" : identity);
      }

      @Override
      public void error(K8shaException error) {
        // (the library retries by itself; leadership ends through revoked() if it must)
        LOG.warn("leader election: {}", error.getMessage());
      }
    });
    election.start();
  }

  /** The election (the stores of a leadership are opened on it). */
  Election election() {
    return election;
  }

  @Override
  public boolean hasLeadership() {
    return election.isLeader();
  }

  @Override
  public void publishLeaderInformation(String componentId, LeaderInformation info) {
    if (info.isEmpty()) {
      deleteLeaderInformation(componentId);
      return;
    }
    UUID current = session;
    if (current == null || !current.equals(info.getLeaderSessionID())) {
      LOG.debug("not publishing {} for {}: session {} is not the current one ({})",
          info.getLeaderAddress(), componentId, info.getLeaderSessionID(), current);
      return;
    }
    try {
      election.publish(componentId, info.getLeaderAddress()).whenComplete((x, failure) -> {
        if (failure != null) {
          report("publishing " + info.getLeaderAddress() + " for " + componentId, failure);
        }
      });
    } catch (K8shaException e) {
      // not leading any more: the revocation is on its way
      LOG.debug("not publishing for {}: {}", componentId, e.getMessage());
    }
  }

  @Override
  public void deleteLeaderInformation(String componentId) {
    try {
      election.unpublish(componentId).whenComplete((x, failure) -> {
        if (failure != null) {
          report("removing the leader entry of " + componentId, failure);
        }
      });
    } catch (K8shaException e) {
      LOG.debug("not removing the entry of {}: {}", componentId, e.getMessage());
    }
  }

  private void report(String what, Throwable failure) {
    String why = failure.getCause() != null ? failure.getCause().getMessage() : failure.getMessage();
    if (closing) {
      LOG.debug("{} ended with the election's stop: {}", what, why);
    } else {
      LOG.warn("{} failed: {}", what, why);
    }
  }

  /** Leaves the election: the lock is released, so a standby takes over at once. */
  @Override
  public void close() {
    closing = true;
    try {
      election.stop().join();
    } catch (RuntimeException e) {
      LOG.debug("stopping the election: {}", e.getMessage()); // (not started, or not leading)
    }
    election.close();
  }
}
