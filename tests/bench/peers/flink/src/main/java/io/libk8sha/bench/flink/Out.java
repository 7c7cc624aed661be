package io.libk8sha.bench.flink;

/** Lines on stdout, each prefixed by the wall clock in ms and flushed at once. */
final class Out {
  private Out() {}

  static synchronized void line(String msg) {
    System.out.print(System.currentTimeMillis() + " " + msg + "\n");
    System.out.flush();
  }
}
