package io.libk8sha.flink;

import io.libk8sha.Context;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalDriver;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalDriverFactory;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalEventHandler;
import org.apache.flink.runtime.rpc.FatalErrorHandler;

/** Makes {@link K8shaLeaderRetrievalDriver}s for one component, on a context it does not own. */
public final class K8shaLeaderRetrievalDriverFactory implements LeaderRetrievalDriverFactory {
  private final Context ctx;
  private final String componentId;

  public K8shaLeaderRetrievalDriverFactory(Context ctx, String componentId) {
    this.ctx = ctx;
    this.componentId = componentId;
  }

  @Override
  public LeaderRetrievalDriver createLeaderRetrievalDriver(LeaderRetrievalEventHandler handler,
      FatalErrorHandler fatalErrorHandler) {
    return new K8shaLeaderRetrievalDriver(ctx, componentId, handler);
  }
}
