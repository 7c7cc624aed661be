package io.libk8sha;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The API server the tests use: a fresh kube-lite on a free loopback port, or, when the system
 * property io.libk8sha.test.kubeconfig names a kubeconfig (tests/realkube), that server (a real
 * kube-apiserver, as the user of the documented Role, namespace flink). Plus a storage folder.
 */
public final class KubeLite implements AutoCloseable {
  final Process process;
  public final Path dir;
  public final Path kubeconfig;
  public final Path storage;
  /** The server's URL, or null for a real API server (no control endpoint). */
  public final String url;
  private static int clusters;

  private KubeLite(Process process, Path dir, String url) {
    this.process = process;
    this.url = url;
    this.dir = dir;
    this.kubeconfig = dir.resolve("kubeconfig");
    this.storage = dir.resolve("ha");
  }

  private KubeLite(Path dir, Path kubeconfig) {
    this.process = null;
    this.url = null;
    this.dir = dir;
    this.kubeconfig = kubeconfig;
    this.storage = dir.resolve("ha");
  }

  public static KubeLite start() throws IOException, InterruptedException {
    String binary = System.getProperty("io.libk8sha.test.kubelite", "k8sha-kube-lite");
    String external = System.getProperty("io.libk8sha.test.kubeconfig", "");
    Path dir = Files.createTempDirectory("k8sha-java-test");
    if (!external.isEmpty()) {
      return new KubeLite(dir, Path.of(external));
    }
    Process p = new ProcessBuilder(binary, "--host", "127.0.0.1", "--port", "0", "--namespace",
        "flink", "--write-kubeconfig", dir.resolve("kubeconfig").toString())
        .redirectError(dir.resolve("kube-lite.err").toFile())
        .start();
    BufferedReader out = new BufferedReader(
        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
      try {
        return out.readLine();
      } catch (IOException e) {
        return null;
      }
    });
    String line;
    try {
      line = ready.get(30, TimeUnit.SECONDS); // (a failure bound)
    } catch (Exception e) {
      p.destroyForcibly();
      throw new IOException("kube-lite did not start within 30 s", e);
    }
    if (line == null || !line.contains("listening on")) {
      p.destroyForcibly();
      throw new IOException("kube-lite did not start: " + line + " (" + dir + ")");
    }
    Thread drain = new Thread(() -> {
      try {
        while (out.readLine() != null) {
          // keep its stdout from filling up
        }
      } catch (IOException e) {
        // (it ended)
      }
    }, "kube-lite-stdout");
    drain.setDaemon(true);
    drain.start();
    return new KubeLite(p, dir, line.split("listening on ")[1].split("\\s+")[0]);
  }

  /** Whether this is kube-lite (not a real API server, where the tests run as a Role-bound user). */
  public boolean isKubeLite() {
    return url != null;
  }

  /** Whether fault rules can be added (kube-lite, not a real API server). */
  public boolean canInjectFaults() {
    return url != null;
  }

  /** Adds a fault rule (docs/kube-lite.md) through the control endpoint. */
  public void addFault(String ruleJson) throws IOException, InterruptedException {
    java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + "/kube-lite/v1/faults"))
            .header("Content-Type", "application/json")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(ruleJson)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200 && r.statusCode() != 201) {
      throw new IOException("kube-lite refused the fault rule " + ruleJson + ": " + r.body());
    }
  }

  /**
   * A validated, resolved configuration for a cluster of this server (short leases), with
   * `extra` key/value pairs set last.
   */
  public Config config(String clusterId, String... extra) {
    Config c = new Config()
        .set("kubernetes.config.file", kubeconfig.toString())
        .set("kubernetes.cluster-id", clusterId)
        .set("kubernetes.namespace", "flink")
        .set("high-availability.type", "kubernetes")
        .set("high-availability.storageDir", storage.toUri().toString())
        .set("high-availability.kubernetes.leader-election.lease-duration", "3 s")
        .set("high-availability.kubernetes.leader-election.renew-deadline", "2 s")
        .set("high-availability.kubernetes.leader-election.retry-period", "200 ms")
        .set("execution.checkpointing.num-retained", "2");
    for (int i = 0; i + 1 < extra.length; i += 2) {
      c.set(extra[i], extra[i + 1]);
    }
    return c.validate().resolveKube();
  }

  private static final String RUN = Long.toString(ProcessHandle.current().pid(), 36);

  /** A cluster id of its own for each test (and each run: a real server keeps its data). */
  public static synchronized String newClusterId(String prefix) {
    return prefix + "-" + RUN + "-" + (++clusters);
  }

  @Override
  public void close() {
    if (process == null) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
