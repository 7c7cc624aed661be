package io.libk8sha.flink;

import io.libk8sha.Context;
import io.libk8sha.Election;
import org.apache.flink.runtime.leaderelection.LeaderElectionDriver;
import org.apache.flink.runtime.leaderelection.LeaderElectionDriverFactory;

/** Makes the {@link K8shaLeaderElectionDriver} of a JobManager, on a context it does not own. */
public final class K8shaLeaderElectionDriverFactory implements LeaderElectionDriverFactory {
  private final Context ctx;
  private final Election.Options options;

  public K8shaLeaderElectionDriverFactory(Context ctx, Election.Options options) {
    this.ctx = ctx;
    this.options = options;
  }

  @Override
  public LeaderElectionDriver create(LeaderElectionDriver.Listener listener) {
    return new K8shaLeaderElectionDriver(ctx, options, listener);
  }
}
