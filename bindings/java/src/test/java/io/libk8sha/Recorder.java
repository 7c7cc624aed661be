package io.libk8sha;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** An election listener that records every event as a line: "granted TERM", "revoked CODE"... */
class Recorder implements ElectionListener {
  final String name;
  final BlockingQueue<String> events = new LinkedBlockingQueue<>();

  Recorder(String name) {
    this.name = name;
  }

  @Override
  public void granted(String session, long t) {
    events.add("granted " + t);
  }

  @Override
  public void revoked(int reason) {
    events.add("revoked " + Native.errName(reason));
  }

  @Override
  public void leaderChanged(String identity) {
    events.add("leader " + identity);
  }

  @Override
  public void error(K8shaException e) {
    events.add("error " + e.codeName());
  }

  /** The next event that matches, waiting at most `bound` (a failure bound, not a timing). */
  String await(Predicate<String> match, Duration bound) throws InterruptedException {
    long end = System.nanoTime() + bound.toNanos();
    for (;;) {
      long left = end - System.nanoTime();
      String e = left > 0 ? events.poll(left, TimeUnit.NANOSECONDS) : null;
      if (e == null) {
        throw new AssertionError(name + ": no matching event within " + bound);
      }
      if (match.test(e)) {
        return e;
      }
    }
  }
}
