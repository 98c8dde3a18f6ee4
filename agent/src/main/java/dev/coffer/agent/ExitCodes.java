package dev.coffer.agent;

/** The exit codes of every {@code coffer} command, documented in {@code docs/operations.md}. */
public final class ExitCodes {
    /** The command did what it was asked. */
    public static final int OK = 0;
    /** The command failed; stderr has one line that says what and where. */
    public static final int FAILED = 1;
    /** The command line was wrong (unknown option, missing argument). */
    public static final int USAGE = 2;
    /** Some items failed and the rest succeeded (a backup or restore with per-file errors). */
    public static final int PARTIAL = 3;
    /** Interrupted by the operator (SIGINT). */
    public static final int CANCELLED = 130;

    private ExitCodes() {}
}
