package dev.coffer.testkit;

/** A fixture could not be built: a tool is missing, or a recipe failed. Fails the test, never skips it. */
public final class FixtureException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public FixtureException(String message) {
        super(message);
    }
}
