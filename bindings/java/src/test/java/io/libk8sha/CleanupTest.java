package io.libk8sha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class CleanupTest extends KubeLiteTest {
  static final String JOB = "0badc0de0badc0de0badc0de0badc0de";



  static long blobs(Path folder) throws Exception {
    if (!Files.isDirectory(folder)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(folder)) {
      return s.filter(p -> p.getFileName().toString().startsWith("completedCheckpoint")).count();
    }
  }

  static List<String> names(List<Found> found, Found.Kind kind) {
    return found.stream().filter(f -> f.kind() == kind).map(Found::name)
        .collect(Collectors.toList());
  }

  @Test
  void aJobsDataDryRunThenDeletedAndAnOrphanFoundThenDeleted() throws Exception {
    String cluster = KubeLite.newClusterId("clean");
    Path folder = server.storage.resolve(cluster);
    try (Config cfg = server.config(cluster); Context ctx = new Context(cfg)) {
      Election e = new Election(ctx, null, null);
      e.start();
      assertTrue(e.awaitLeadership(BOUND));
      try (CheckpointStore s = CheckpointStore.open(e, JOB).join()) {
        s.add(1, new byte[] {1}).join();
        s.add(2, new byte[] {2}).join();
      }
      assertEquals(2, blobs(folder));
      // dry run: reported, nothing deleted
      List<Found> would = Cleanup.jobDryRun(ctx, JOB).join();
      assertEquals(2, names(would, Found.Kind.BLOB).size(), would.toString());
      assertTrue(names(would, Found.Kind.CONFIGMAP).contains(cluster + "-" + JOB + "-config-map"),
          would.toString());
      assertEquals(2, blobs(folder));
      // a stray blob named as a store names them: an orphan
      Path stray = folder.resolve("completedCheckpoint0123456789ab");
      Files.write(stray, new byte[] {9});
      List<Found> orphans = Cleanup.orphans(ctx, null).join();
      assertEquals(1, names(orphans, Found.Kind.ORPHAN_BLOB).size(), orphans.toString());
      assertTrue(names(orphans, Found.Kind.ORPHAN_BLOB).get(0).endsWith(stray.getFileName().toString()));
      assertTrue(Files.exists(stray), "a scan without a leader deletes nothing");
      // the job's data, deleted, fenced by the leader
      List<Found> deleted = Cleanup.job(e, JOB).join();
      assertEquals(2, names(deleted, Found.Kind.BLOB).size(), deleted.toString());
      assertEquals(1, blobs(folder)); // the stray one is left
      // with the leader, the orphan goes too
      List<Found> gone = Cleanup.orphans(ctx, e).join();
      assertEquals(1, names(gone, Found.Kind.ORPHAN_BLOB).size(), gone.toString());
      assertFalse(Files.exists(stray));
      assertEquals(0, blobs(folder));
    }
  }

  @Test
  void closingTheContextWaitsForARunningTask() throws Exception {
    long refs = Native.globalRefs();
    Context ctx;
    java.util.concurrent.CompletableFuture<List<Found>> scan;
    try (Config cfg = server.config(KubeLite.newClusterId("close-while-scanning"))) {
      ctx = new Context(cfg);
    }
    scan = Cleanup.cluster(ctx, true);
    ctx.close(); // the library refuses to free a context with a task running: close waits
    assertTrue(scan.isDone());
    scan.join();
    assertEquals(refs, Native.globalRefs());
  }
}
