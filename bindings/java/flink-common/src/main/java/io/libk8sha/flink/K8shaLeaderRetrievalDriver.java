package io.libk8sha.flink;

import io.libk8sha.Context;
import io.libk8sha.K8shaException;
import io.libk8sha.Retriever;
import io.libk8sha.RetrieverListener;
import java.util.UUID;
import org.apache.flink.runtime.leaderelection.LeaderInformation;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalDriver;
import org.apache.flink.runtime.leaderretrieval.LeaderRetrievalEventHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Flink's leader retrieval driver on libk8sha: follows one component's published address. */
public final class K8shaLeaderRetrievalDriver implements LeaderRetrievalDriver {
  private static final Logger LOG = LoggerFactory.getLogger(K8shaLeaderRetrievalDriver.class);

  private final Retriever retriever;

  K8shaLeaderRetrievalDriver(Context ctx, String componentId, LeaderRetrievalEventHandler handler) {
    this.retriever = new Retriever(ctx, componentId, new RetrieverListener() {
      @Override
      public void leader(String address, String session) {
        handler.notifyLeaderAddress(info(componentId, address, session));
      }

      @Override
      public void error(K8shaException error) {
        // (retried by the library: the last address may be stale until the next report)
        LOG.warn("leader retrieval of {}: {}", componentId, error.getMessage());
      }
    });
  }

  static LeaderInformation info(String componentId, String address, String session) {
    if (address == null || session == null) {
      return LeaderInformation.empty();
    }
    try {
      return LeaderInformation.known(UUID.fromString(session), address);
    } catch (IllegalArgumentException e) {
      LOG.warn("the leader entry of {} has a session that is not a UUID ({}): ignored",
          componentId, session);
      return LeaderInformation.empty();
    }
  }

  @Override
  public void close() {
    retriever.close();
  }
}
