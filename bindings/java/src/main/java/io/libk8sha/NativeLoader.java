package io.libk8sha;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Finds and loads the JNI shim, {@code libk8sha-jni.so}, in this order:
 * <ol>
 *   <li>the file named by the system property {@code io.libk8sha.jni.path};</li>
 *   <li>{@code java.library.path} ({@code System.loadLibrary("k8sha-jni")});</li>
 *   <li>the copy bundled in the jar for linux-x86_64, extracted to a temporary folder (with the
 *       libk8sha.so.1 bundled beside it, loaded first, when the jar carries one).</li>
 * </ol>
 * When none works the error lists every place tried and why it failed.
 */
final class NativeLoader {
  static final String PATH_PROPERTY = "io.libk8sha.jni.path";
  private static final String RESOURCES = "/io/libk8sha/native/";

  private NativeLoader() {}

  static synchronized void load() {
    List<String> tried = new ArrayList<>();
    String explicit = System.getProperty(PATH_PROPERTY);
    if (explicit != null && !explicit.isEmpty()) {
      try {
        System.load(Path.of(explicit).toAbsolutePath().toString());
        return;
      } catch (UnsatisfiedLinkError e) {
        throw new UnsatisfiedLinkError("libk8sha: the JNI shim named by -D" + PATH_PROPERTY
            + "=" + explicit + " could not be loaded: " + e.getMessage());
      }
    }
    try {
      System.loadLibrary("k8sha-jni");
      return;
    } catch (UnsatisfiedLinkError e) {
      tried.add("java.library.path (" + System.getProperty("java.library.path") + "): "
          + e.getMessage());
    }
    String platform = platform();
    String dir = RESOURCES + platform + "/";
    try (InputStream shim = NativeLoader.class.getResourceAsStream(dir + "libk8sha-jni.so")) {
      if (shim == null) {
        tried.add("the jar (" + dir + "libk8sha-jni.so): not bundled for " + platform);
      } else {
        Path tmp = Files.createTempDirectory("libk8sha-jni");
        tmp.toFile().deleteOnExit();
        try (InputStream lib = NativeLoader.class.getResourceAsStream(dir + "libk8sha.so.1")) {
          if (lib != null) {
            System.load(extract(lib, tmp, "libk8sha.so.1").toString());
          }
        }
        System.load(extract(shim, tmp, "libk8sha-jni.so").toString());
        return;
      }
    } catch (IOException | UnsatisfiedLinkError e) {
      tried.add("the jar (" + dir + "): " + e.getMessage());
    }
    throw new UnsatisfiedLinkError("libk8sha: the JNI shim libk8sha-jni.so was not found. Tried: "
        + String.join("; ", tried) + ". Set -D" + PATH_PROPERTY + "=/path/to/libk8sha-jni.so.");
  }

  private static Path extract(InputStream in, Path dir, String name) throws IOException {
    Path out = dir.resolve(name);
    Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
    out.toFile().deleteOnExit();
    return out;
  }

  private static String platform() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (arch.equals("amd64")) {
      arch = "x86_64";
    }
    return (os.startsWith("linux") ? "linux" : os.replace(' ', '-')) + "-" + arch;
  }
}
