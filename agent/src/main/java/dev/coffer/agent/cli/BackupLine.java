package dev.coffer.agent.cli;

import java.io.PrintWriter;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * {@code coffer backup}'s command line read without picocli ({@link PlainLine}): picocli's model of this
 * command took ~180 ms of an incremental backup's ~1.4 s start to finish (docs/performance.md). Anything
 * the plain reading does not cover goes to picocli. {@code BackupLineTest} checks that every option the
 * command declares is known here and comes out as picocli sets it.
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
        if (args.length < 2 || !"backup".equals(args[0])) {
            return Optional.empty();
        }
        Optional<PlainLine.Read> line = PlainLine.read(args, ALL_VALUE_OPTIONS, ALL_FLAG_OPTIONS);
        if (line.isEmpty() || line.get().argument() == null) {
            return Optional.empty();
        }
        BackupCommand c = new BackupCommand();
        c.session = new SessionOptions();
        c.policy = "manual";
        try {
            c.target = Path.of(line.get().argument());
            for (PlainLine.Option o : line.get().options()) {
                if (!set(c, o.name(), o.value()) && !c.session.set(o.name(), o.value())) {
                    return Optional.empty();
                }
            }
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
