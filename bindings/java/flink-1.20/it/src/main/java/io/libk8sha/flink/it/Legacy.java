package io.libk8sha.flink.it;

/**
 * The source and sink bases of Flink 1.20's DataStream API that the shared SequenceJob
 * (../flink-common/it) builds on: the same classes in every line, in different packages.
 */
final class Legacy {
  private Legacy() {}

  abstract static class Source<T> implements org.apache.flink.streaming.api.functions.source.SourceFunction<T> {
    private static final long serialVersionUID = 1L;
  }

  abstract static class Sink<T> extends org.apache.flink.streaming.api.functions.sink.RichSinkFunction<T> {
    private static final long serialVersionUID = 1L;
  }
}
