package io.libk8sha;

/** Loads the shim in a JVM of its own (the loader tests) and prints the library's version. */
public final class LoaderProbe {
  private LoaderProbe() {}

  public static void main(String[] args) {
    System.out.println("libk8sha " + Context.libraryVersion());
  }
}
