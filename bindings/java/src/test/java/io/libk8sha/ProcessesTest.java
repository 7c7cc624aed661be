package io.libk8sha;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Three JVM contenders, each in a process of its own (ContenderMain), and a C contender
 * (k8sha elect) on one lock: the leader is killed with SIGKILL (the next leads after the lease),
 * then the next leader is stopped with SIGTERM (it releases: the next leads at once). Every
 * grant has a term above the previous one, and no term is granted twice.
 */
class ProcessesTest extends KubeLiteTest {



  /** One process and the lines it printed, tagged with its name. */
  static final class Proc {
    final String name;
    final Process p;

    Proc(String name, List<String> command, BlockingQueue<String[]> lines) throws Exception {
      this.name = name;
      this.p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      Thread t = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(
            new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          for (String l; (l = r.readLine()) != null; ) {
            lines.add(new String[] {name, l});
          }
        } catch (Exception e) {
          // (it ended)
        }
      }, "out-" + name);
      t.setDaemon(true);
      t.start();
    }
  }

  /** The next "granted" line: {name, term}. */
  static String[] awaitGrant(BlockingQueue<String[]> lines) throws InterruptedException {
    for (;;) {
      String[] l = lines.poll(60, TimeUnit.SECONDS); // a failure bound
      assertNotNull(l, "nobody was granted leadership within 60 s");
      assertTrue(!l[1].contains("in native method"), l[0] + " (-Xcheck:jni): " + l[1]);
      if (l[1].startsWith("granted ")) { // (C: "granted SESSION TERM"; Java: "granted TERM")
        String[] f = l[1].split(" ");
        return new String[] {l[0], f[f.length - 1]};
      }
    }
  }

  @Test
  void jvmAndCContendersKilledAndStopped() throws Exception {
    String cli = System.getProperty("io.libk8sha.test.cli");
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Assumptions.assumeTrue(cli != null && !cli.isEmpty(), "io.libk8sha.test.cli is not set");
    String cluster = KubeLite.newClusterId("procs");
    Path conf = server.dir.resolve(cluster + ".yaml");
    Files.writeString(conf, String.join("\n",
        "kubernetes.config.file: " + server.kubeconfig,
        "kubernetes.cluster-id: " + cluster,
        "kubernetes.namespace: flink",
        "high-availability.type: kubernetes",
        "high-availability.storageDir: " + server.storage.toUri(),
        "high-availability.kubernetes.leader-election.lease-duration: 3 s",
        "high-availability.kubernetes.leader-election.renew-deadline: 2 s",
        "high-availability.kubernetes.leader-election.retry-period: 200 ms", ""));
    String java = ProcessHandle.current().info().command().orElse("java");
    BlockingQueue<String[]> lines = new LinkedBlockingQueue<>();
    List<Proc> procs = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        procs.add(new Proc("jvm-" + i, List.of(java, "-Xcheck:jni",
            "-Dio.libk8sha.jni.path=" + System.getProperty("io.libk8sha.jni.path"),
            "-cp", cp, ContenderMain.class.getName(), conf.toString(), "jvm-" + i), lines));
      }
      procs.add(new Proc("c", List.of(cli, "elect", "--identity", "c", "--address", "c://c",
          "-c", conf.toString()), lines));
      Set<Long> terms = new HashSet<>();
      String[] first = awaitGrant(lines);
      long term = Long.parseLong(first[1]);
      terms.add(term);
      // kill -9 the leader: the next one leads once its lease has run out
      Proc leader = find(procs, first[0]);
      leader.p.destroyForcibly();
      leader.p.waitFor();
      procs.remove(leader);
      String[] second = awaitGrant(lines);
      assertTrue(Long.parseLong(second[1]) > term, "terms grow");
      assertTrue(terms.add(Long.parseLong(second[1])), "a term granted twice");
      term = Long.parseLong(second[1]);
      // SIGTERM: a clean stop, the lock is released, the next one leads at once
      Proc next = find(procs, second[0]);
      next.p.destroy();
      assertTrue(next.p.waitFor(60, TimeUnit.SECONDS), second[0] + " did not stop on SIGTERM");
      procs.remove(next);
      String[] third = awaitGrant(lines);
      assertTrue(Long.parseLong(third[1]) > term, "terms grow");
      assertTrue(terms.add(Long.parseLong(third[1])), "a term granted twice");
      // (a JVM ends with 143 after its shutdown hooks ran on SIGTERM; k8sha elect with 0)
      int rc = next.p.exitValue();
      assertTrue(rc == 0 || rc == 143, second[0] + " exited with " + rc);
    } finally {
      for (Proc p : procs) {
        p.p.destroyForcibly();
      }
    }
  }

  static Proc find(List<Proc> procs, String name) {
    return procs.stream().filter(p -> p.name.equals(name)).findFirst().orElseThrow();
  }
}
