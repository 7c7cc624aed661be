package io.libk8sha.flink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.libk8sha.CheckpointStore;
import io.libk8sha.Checkpoint;
import io.libk8sha.Cleanup;
import io.libk8sha.Config;
import io.libk8sha.Context;
import io.libk8sha.Election;
import io.libk8sha.Found;
import io.libk8sha.K8shaException;
import io.libk8sha.KubeLite;
import io.libk8sha.KubeLiteTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The HA blobs through Flink's FileSystem (its local file system here). */
class FlinkFileSystemBackendTest extends KubeLiteTest {
  static final String JOB = "f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1";



  @Test
  void checkpointsWrittenReadListedAndDeletedThroughFlink() throws Exception {
    String cluster = KubeLite.newClusterId("flinkfs");
    Path folder = server.storage.resolve(cluster);
    try (Config cfg = server.config(cluster, "execution.checkpointing.num-retained", "1");
         Context ctx = new Context(cfg)) {
      ctx.registerStorage(new FlinkFileSystemBackend("file")); // instead of the built-in one
      Election e = new Election(ctx, null, null);
      e.start();
      assertTrue(e.awaitLeadership(BOUND));
      try (CheckpointStore s = CheckpointStore.open(e, JOB).join()) {
        s.add(1, "one".getBytes(StandardCharsets.UTF_8)).join();
        s.add(2, "two".getBytes(StandardCharsets.UTF_8)).join(); // 1 subsumed: its blob deleted
        List<Checkpoint> list = s.recover().join();
        assertEquals(1, list.size());
        assertArrayEquals("two".getBytes(StandardCharsets.UTF_8), list.get(0).state());
        try (Stream<Path> files = Files.list(folder)) {
          assertEquals(1, files.count(), "one blob on disk");
        }
        // an orphan, found through the backend's listing and deleted through it
        Path stray = folder.resolve("completedCheckpoint00000000abcd");
        Files.write(stray, new byte[] {7});
        List<Found> found = Cleanup.orphans(ctx, e).join();
        List<String> orphans = found.stream().filter(f -> f.kind() == Found.Kind.ORPHAN_BLOB)
            .map(Found::name).collect(Collectors.toList());
        assertEquals(1, orphans.size(), found.toString());
        assertFalse(Files.exists(stray));
        // a blob lost behind the store's back: reported by id
        try (Stream<Path> files = Files.list(folder)) {
          for (Path p : files.collect(Collectors.toList())) {
            Files.delete(p);
          }
        }
        Checkpoint lost = s.recover().join().get(0);
        assertEquals(K8shaException.ENOTFOUND, lost.failure().code(), lost.failure().getMessage());
      }
    }
  }
}
