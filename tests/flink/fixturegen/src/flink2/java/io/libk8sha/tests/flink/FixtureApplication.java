package io.libk8sha.tests.flink;

/** Entry class named by the fixture's application entry; never run. */
public final class FixtureApplication {
    private FixtureApplication() {}

    public static void main(String[] args) {}
}
