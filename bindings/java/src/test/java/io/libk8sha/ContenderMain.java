package io.libk8sha;

import java.nio.file.Path;

/**
 * A JobManager stand-in in a JVM of its own, for the process tests: contends on a cluster's lock
 * and prints one line per event ("granted TERM", "revoked CODE", "stopped"). SIGTERM (a shutdown
 * hook) stops cleanly, releasing the lock; SIGKILL leaves it to expire.
 *   ContenderMain CONFIG_FILE IDENTITY
 */
public final class ContenderMain {
  private ContenderMain() {}

  public static void main(String[] args) throws Exception {
    Config cfg = new Config().loadFile(Path.of(args[0])).validate().resolveKube();
    Context ctx = new Context(cfg);
    cfg.close();
    Election e = new Election(ctx, new Election.Options().identity(args[1]),
        new ElectionListener() {
          @Override
          public void granted(String session, long term) {
            say("granted " + term);
          }

          @Override
          public void revoked(int reason) {
            say("revoked " + Native.errName(reason));
          }
        });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        e.stop().join();
      } catch (RuntimeException x) {
        say("stop failed: " + x.getMessage());
      }
      say("stopped");
      ctx.close();
    }));
    e.start();
    say("started");
    Thread.currentThread().join(); // until a signal ends the JVM
  }

  static synchronized void say(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
