package io.libk8sha.flink;

import java.util.Collection;
import org.apache.flink.api.common.JobID;

/**
 * Flink's store of job graphs (Flink 1.x) or execution plans (2.x), started, as the tests every
 * line shares use it; each line's {@code FlinkLine} makes one.
 */
interface Graphs {
  /** Stores a graph of {@code job} named {@code name}. */
  void put(JobID job, String name) throws Exception;

  /** The name of the graph of {@code job}, or null when there is none. */
  String name(JobID job) throws Exception;

  Collection<JobID> ids() throws Exception;

  void remove(JobID job) throws Exception;

  void stop() throws Exception;
}
