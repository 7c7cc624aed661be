package io.libk8sha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ConfigTest {
  @Test
  void everyProblemIsListedWithItsKeyAndLine() throws Exception {
    Path file = Files.createTempFile("k8sha-config", ".yaml");
    Files.writeString(file, String.join("\n",
        "high-availability.type: kubernetes",
        "kubernetes.cluster-id: ok",
        "high-availability.storageDir: ftp://nowhere/ha",
        "high-availability.kubernetes.leader-election.lease-duration: soon",
        ""));
    try (Config cfg = new Config()) {
      cfg.loadFile(file);
      ConfigException e = assertThrows(ConfigException.class, cfg::validate);
      List<Diagnostic> errors = e.diagnostics().stream()
          .filter(d -> d.severity() == Diagnostic.Severity.ERROR).collect(Collectors.toList());
      assertTrue(errors.size() >= 2, e.getMessage());
      Diagnostic storage = errors.stream()
          .filter(d -> "high-availability.storageDir".equals(d.key())).findFirst().orElseThrow();
      assertEquals(3, storage.line());
      assertEquals(file.toString(), storage.file());
      Diagnostic lease = errors.stream()
          .filter(d -> d.key() != null && d.key().endsWith("lease-duration")).findFirst()
          .orElseThrow();
      assertEquals(4, lease.line());
      assertTrue(e.getMessage().contains("storageDir") && e.getMessage().contains("lease"),
          e.getMessage());
    } finally {
      Files.delete(file);
    }
  }

  @Test
  void valuesAfterValidation() {
    try (Config cfg = new Config()) {
      cfg.set("kubernetes.cluster-id", "c1").set("high-availability.type", "kubernetes")
          .set("high-availability.storageDir", "/var/ha").set("kubernetes.namespace", "ns");
      cfg.validate();
      assertEquals("c1", cfg.clusterId());
      assertEquals("ns", cfg.namespace());
      assertEquals("file:///var/ha", cfg.storageDir());
      assertEquals("/var/ha", cfg.get("high-availability.storageDir"));
      assertNotNull(Context.libraryVersion());
    }
  }
}
