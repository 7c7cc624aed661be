package io.libk8sha;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class CheckpointStoreTest extends KubeLiteTest {
  static final String JOB = "00112233445566778899aabbccddeeff";



  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static K8shaException failure(CompletionException e) {
    return (K8shaException) e.getCause();
  }

  @Test
  void addRecoverCommitAndRetention() throws Exception {
    String cluster = KubeLite.newClusterId("cp");
    try (Config cfg = server.config(cluster); Context ctx = new Context(cfg)) {
      Recorder rec = new Recorder("jm");
      Election e = new Election(ctx, new Election.Options().identity("jm"), rec);
      e.start();
      assertTrue(e.awaitLeadership(BOUND));
      CheckpointStore s = CheckpointStore.open(e, JOB).join();
      assertEquals(cluster + "-" + JOB + "-config-map", s.configMapName());
      assertEquals(1L, s.counter().join());
      for (int i = 0; i < 3; i++) {
        long id = s.counterGetAndIncrement().join();
        s.add(id, bytes("state " + id)).join();
      }
      // The store's writes are merge patches (3 increments, 3 adds), counted.
      assertTrue(ctx.stats().get("patch") >= 6, ctx.stats().toString());
      // Two retained (num-retained 2): 2 and 3, each read back and verified.
      List<Checkpoint> list = s.recover().join();
      assertEquals(2, list.size());
      assertEquals(2L, list.get(0).id());
      assertArrayEquals(bytes("state 3"), list.get(1).state());
      // commit = counter + add
      long id = s.commit(bytes("committed")).join();
      assertEquals(4L, id);
      Checkpoint latest = s.recoverLatest().join().orElseThrow();
      assertEquals(4L, latest.id());
      assertFalse(latest.isPointer());
      // Pointer bytes a host encoded itself.
      s.addPointer(5, bytes("host pointer")).join();
      Checkpoint p = s.recoverLatest().join().orElseThrow();
      assertTrue(p.isPointer());
      assertArrayEquals(bytes("host pointer"), p.state());
      // Bytes that start like Java serialization must be Flink's state handle: these are not.
      byte[] notAHandle = {(byte) 0xac, (byte) 0xed, 0, 5, 's', 'r'};
      K8shaException corrupt =
          assertThrows(K8shaException.class, () -> s.addPointer(6, notAHandle));
      assertEquals(K8shaException.ECORRUPT, corrupt.code(), corrupt.getMessage());
      assertTrue(corrupt.getMessage().contains("not Flink's state handle"), corrupt.getMessage());
      assertEquals(5L, s.recoverLatest().join().orElseThrow().id());
      // A different checkpoint under an id that exists: EEXISTS, a definite failure.
      K8shaException exists = failure(assertThrows(CompletionException.class,
          () -> s.add(5, bytes("something else")).join()));
      assertEquals(K8shaException.EEXISTS, exists.code(), exists.getMessage());
      assertFalse(exists.isUnknownOutcome());
      // The job ends: its checkpoints and counter go.
      s.shutdown(JobStatus.GLOBALLY_TERMINAL).join();
      s.close();
      CheckpointStore again = CheckpointStore.open(e, JOB).join();
      assertTrue(again.recover().join().isEmpty());
      assertEquals(1L, again.counter().join());
      again.close();
      e.close();
    }
  }

  @Test
  void theCallerDecidesWhatAnAddRetires() throws Exception {
    String cluster = KubeLite.newClusterId("retire");
    try (Config cfg = server.config(cluster); Context ctx = new Context(cfg)) {
      Election e = new Election(ctx, null, null);
      e.start();
      assertTrue(e.awaitLeadership(BOUND));
      try (CheckpointStore s = CheckpointStore.open(e, JOB).join()) {
        s.add(1, bytes("one"), new long[0]).join();
        s.add(2, bytes("two"), new long[0]).join();
        s.add(3, bytes("three"), new long[0]).join(); // beyond num-retained 2: all kept
        assertEquals(3, s.recover().join().size());
        s.add(4, bytes("four"), new long[] {2, 3, 42}).join(); // 42 is not held: skipped
        List<Checkpoint> left = s.recover().join();
        assertEquals(List.of(1L, 4L), left.stream().map(Checkpoint::id).toList());
        K8shaException self = failure(assertThrows(CompletionException.class,
            () -> s.add(5, bytes("five"), new long[] {5}).join()));
        assertEquals(K8shaException.EINVAL, self.code(), self.getMessage());
        assertEquals(2, s.recover().join().size());
      }
      e.close();
    }
  }

  @Test
  void aDamagedBlobIsReportedWithItsId() throws Exception {
    String cluster = KubeLite.newClusterId("damaged");
    try (Config cfg = server.config(cluster); Context ctx = new Context(cfg)) {
      Election e = new Election(ctx, null, null);
      e.start();
      assertTrue(e.awaitLeadership(BOUND));
      try (CheckpointStore s = CheckpointStore.open(e, JOB).join()) {
        s.add(1, bytes("one")).join();
        s.add(2, bytes("two")).join();
        // Change the newest blob behind the store's back.
        Path blobs = server.storage.resolve(cluster);
        Path newest;
        try (Stream<Path> files = Files.list(blobs)) {
          newest = files.filter(f -> f.getFileName().toString().startsWith("completedCheckpoint"))
              .filter(f -> {
                try {
                  return new String(Files.readAllBytes(f), StandardCharsets.UTF_8).equals("two");
                } catch (Exception x) {
                  return false;
                }
              }).findFirst().orElseThrow();
        }
        Files.write(newest, bytes("tw0"));
        List<Checkpoint> list = s.recover().join();
        assertTrue(list.get(0).isIntact());
        Checkpoint bad = list.get(1);
        assertEquals(2L, bad.id());
        assertFalse(bad.isIntact());
        assertEquals(K8shaException.ECORRUPT, bad.failure().code(), bad.failure().getMessage());
        assertThrows(K8shaException.class, bad::state);
        // the newest intact one is 1
        assertEquals(1L, s.recoverLatest().join().orElseThrow().id());
      }
    }
  }

  @Test
  void aStoreOfAnEndedLeadershipIsFenced() throws Exception {
    String cluster = KubeLite.newClusterId("fenced");
    try (Config c1 = server.config(cluster); Context a = new Context(c1);
         Config c2 = server.config(cluster); Context b = new Context(c2)) {
      Recorder ra = new Recorder("a");
      Recorder rb = new Recorder("b");
      Election ea = new Election(a, new Election.Options().identity("a"), ra);
      ea.start();
      assertTrue(ea.awaitLeadership(BOUND));
      Election eb = new Election(b, new Election.Options().identity("b"), rb);
      eb.start();
      CheckpointStore sa = CheckpointStore.open(ea, JOB).join();
      sa.add(1, bytes("by a")).join();
      ea.stop().join(); // a hands over; b leads and claims the job
      assertTrue(eb.awaitLeadership(BOUND));
      CheckpointStore sb = CheckpointStore.open(eb, JOB).join();
      assertEquals(1L, sb.recover().join().get(0).id());
      K8shaException fenced = failure(assertThrows(CompletionException.class,
          () -> sa.add(2, bytes("late write by a")).join()));
      assertTrue(fenced.isNotLeader(), fenced.getMessage());
      sb.add(2, bytes("by b")).join();
      sa.close();
      sb.close();
    }
  }

  @Test
  void openingWithoutLeadershipIsRefused() throws Exception {
    try (Config cfg = server.config(KubeLite.newClusterId("follower"));
         Context ctx = new Context(cfg)) {
      Election e = new Election(ctx, null, null);
      K8shaException k = assertThrows(K8shaException.class, () -> CheckpointStore.open(e, JOB));
      assertTrue(k.isNotLeader(), k.getMessage());
      K8shaException bad = assertThrows(K8shaException.class,
          () -> CheckpointStore.open(e, "not-a-job-id"));
      assertEquals(K8shaException.EINVAL, bad.code());
      assertTrue(bad.getMessage().contains("not-a-job-id"), bad.getMessage());
    }
  }
}
