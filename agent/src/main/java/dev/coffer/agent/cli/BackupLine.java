package dev.coffer.agent.cli;

import java.io.PrintWriter;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * {@code coffer backup}'s command line read without picocli ({@link PlainLine}), which saves ~30 ms of CPU
 * of every backup's start (docs/performance.md). Anything the plain reading does not cover goes to picocli.
 * {@code BackupLineTest} checks that every option the command declares is known here and comes out as
 * picocli sets it.
 */
public final class BackupLine {
    /** {@link BackupCommand}'s own options that take a value. */
    static final Set<String> VALUE_OPTIONS = Set.of("--source", "--snapshot", "--snapshot-template", "--block-size",
            "--policy");
    /** {@link BackupCommand}'s own options that take none. */
    static final Set<String> FLAG_OPTIONS = Set.of("--json", "--no-throttle", "--full");
    private static final Set<String> ALL_VALUE_OPTIONS = PlainLine.union(VALUE_OPTIONS, SessionOptions.VALUE_OPTIONS);
    private static final Set<String> ALL_FLAG_OPTIONS = PlainLine.union(FLAG_OPTIONS, SessionOptions.FLAG_OPTIONS);

    private BackupLine() {}

    /**
     * The backup {@code args} ask for ({@code args[0]} is {@code backup}), printing to {@code out} and
     * {@code err}; empty when picocli should read the line.
     */
    public static Optional<BackupCommand> parse(String[] args, PrintWriter out, PrintWriter err) {
        BackupCommand c = new BackupCommand();
        c.session = new SessionOptions();
        c.policy = "manual";
        Optional<String> target = PlainLine.read(args, "backup", ALL_VALUE_OPTIONS, ALL_FLAG_OPTIONS,
                new PlainLine.Setter() { // a class, not a lambda: see Warmup on the first lambda's cost
                    @Override
                    public boolean set(String name, String value) {
                        return BackupLine.set(c, name, value);
                    }
                }, c.session);
        if (target.isEmpty()) {
            return Optional.empty();
        }
        try {
            c.target = Path.of(target.get());
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
        c.out = out;
        c.err = err;
        return Optional.of(c);
    }

    private static boolean set(BackupCommand c, String name, String value) {
        switch (name) {
            case "--source" -> c.source = value;
            case "--snapshot" -> c.snapshot = value;
            case "--snapshot-template" -> c.snapshotTemplate = value;
            case "--block-size" -> c.blockSize = value;
            case "--policy" -> c.policy = value;
            case "--json" -> c.json = true;
            case "--no-throttle" -> c.noThrottle = true;
            case "--full" -> c.full = true;
            default -> {
                return false;
            }
        }
        return true;
    }
}
