package io.libk8sha.flink;

import io.libk8sha.Context;
import io.libk8sha.Election;
import org.apache.flink.runtime.leaderelection.LeaderElectionDriver;
import org.apache.flink.runtime.leaderelection.LeaderElectionDriverFactory;

/**
 * Makes the {@link K8shaLeaderElectionDriver} of a JobManager, on a context it does not own.
 * Flink makes one driver per JobManager process (its leader election service is shared by every
 * component); the stores of a leadership are opened on that driver's election.
 */
public final class K8shaLeaderElectionDriverFactory implements LeaderElectionDriverFactory {
  private final Context ctx;
  private final Election.Options options;
  private volatile K8shaLeaderElectionDriver driver;

  public K8shaLeaderElectionDriverFactory(Context ctx, Election.Options options) {
    this.ctx = ctx;
    this.options = options;
  }

  @Override
  public LeaderElectionDriver create(LeaderElectionDriver.Listener listener) {
    K8shaLeaderElectionDriver d = new K8shaLeaderElectionDriver(ctx, options, listener);
    driver = d;
    return d;
  }

  /**
   * The election of the driver made last.
   *
   * @throws IllegalStateException when no driver was made yet (nothing can lead then)
   */
  public Election election() {
    K8shaLeaderElectionDriver d = driver;
    if (d == null) {
      throw new IllegalStateException("no leader election runs in this JobManager yet");
    }
    return d.election();
  }
}
