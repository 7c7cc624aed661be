package io.libk8sha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Where the shim is looked for, each in a JVM of its own. */
class LoaderTest {
  static String[] run(String... props) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>(List.of(java));
    cmd.addAll(List.of(props));
    cmd.addAll(List.of("-cp", cp, LoaderProbe.class.getName()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    return new String[] {Integer.toString(p.exitValue()), out};
  }

  @Test
  void theNamedFileIsLoaded() throws Exception {
    String[] r = run("-Dio.libk8sha.jni.path=" + System.getProperty("io.libk8sha.jni.path"));
    assertEquals("0", r[0], r[1]);
    assertTrue(r[1].contains("libk8sha " + Context.libraryVersion()), r[1]);
  }

  @Test
  void aNamedFileThatIsNotThereIsNamedInTheError() throws Exception {
    String[] r = run("-Dio.libk8sha.jni.path=/nonexistent/libk8sha-jni.so");
    assertNotEquals("0", r[0]);
    assertTrue(r[1].contains("-Dio.libk8sha.jni.path=/nonexistent/libk8sha-jni.so"), r[1]);
  }

  @Test
  void withoutThePropertyTheCopyInTheClassPathIsExtracted() throws Exception {
    // (target/classes holds the shim and libk8sha.so.1, as the jar does; java.library.path
    // does not name them)
    String[] r = run("-Djava.library.path=/nonexistent");
    assertEquals("0", r[0], r[1]);
    assertTrue(r[1].contains("libk8sha " + Context.libraryVersion()), r[1]);
  }
}
