package dev.coffer.agent;

import java.io.PrintWriter;
import picocli.CommandLine;

/**
 * The {@code coffer} executable: parses the command line, runs the command, and maps every outcome
 * to a documented exit code with a one-line error on stderr (see {@code docs/operations.md}).
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        SqliteNative.useCachedCopy();
        Warmup.start(args);
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs one command line and returns its exit code; never calls {@code System.exit}. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = CofferCommand.commandLine(args);
        cli.setOut(out);
        cli.setErr(err);
        return cli.execute(args);
    }
}
