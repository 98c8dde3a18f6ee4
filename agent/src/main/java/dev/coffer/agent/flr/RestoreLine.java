package dev.coffer.agent.flr;

import dev.coffer.agent.cli.PlainLine;
import dev.coffer.agent.cli.SessionOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * {@code coffer restore}'s command line read without picocli ({@link PlainLine}), for the lines an operator
 * or a script usually types: a one-file restore is mostly start-up, and picocli's model of the command took
 * ~90 ms of a 50 MB restore's ~450 (docs/performance.md). Anything else, and a {@code --workers} that is not
 * plain decimal, goes to picocli. {@code RestoreLineTest} checks that every option the command declares is
 * known here and comes out as picocli sets it.
 */
public final class RestoreLine {
    /** {@link RestoreCommand}'s own options that take a value. */
    static final Set<String> VALUE_OPTIONS = Set.of("--to", "--vm", "--volume", "--disk", "--format", "--glob",
            "--existing", "--workers", "--target-token-file");
    /** {@link RestoreCommand}'s own options that take none. */
    static final Set<String> FLAG_OPTIONS = Set.of("--vm-files", "--streams", "--json", "--direct-io");
    private static final Set<String> ALL_VALUE_OPTIONS = PlainLine.union(VALUE_OPTIONS, SessionOptions.VALUE_OPTIONS);
    private static final Set<String> ALL_FLAG_OPTIONS = PlainLine.union(FLAG_OPTIONS, SessionOptions.FLAG_OPTIONS);

    private RestoreLine() {}

    /**
     * The restore {@code args} ask for ({@code args[0]} is {@code restore}), printing to {@code out};
     * empty when picocli should read the line.
     */
    public static Optional<RestoreCommand> parse(String[] args, PrintWriter out) {
        RestoreCommand c = new RestoreCommand();
        c.session = new SessionOptions();
        c.format = "raw";
        c.existing = "rename";
        Optional<String> what = PlainLine.read(args, "restore", ALL_VALUE_OPTIONS, ALL_FLAG_OPTIONS,
                new PlainLine.Setter() { // a class, not a lambda: see Warmup on the first lambda's cost
                    @Override
                    public boolean set(String name, String value) {
                        return RestoreLine.set(c, name, value);
                    }
                }, c.session);
        if (what.isEmpty() || c.to == null) {
            return Optional.empty();
        }
        c.what = what.get();
        c.out = out;
        return Optional.of(c);
    }

    private static boolean set(RestoreCommand c, String name, String value) {
        switch (name) {
            case "--to" -> c.to = value;
            case "--vm" -> c.vm = value;
            case "--volume" -> c.volume = value;
            case "--disk" -> c.disk = value;
            case "--format" -> c.format = value;
            case "--glob" -> c.glob = value;
            case "--existing" -> c.existing = value;
            case "--workers" -> {
                if (!value.matches("[0-9]{1,9}")) {
                    return false; // plain decimal only: picocli's reading of signs, hex, overflow is its own
                }
                c.workers = Integer.valueOf(value);
            }
            case "--target-token-file" -> c.targetToken = Path.of(value);
            case "--vm-files" -> c.vmFiles = true;
            case "--streams" -> c.streams = true;
            case "--json" -> c.json = true;
            case "--direct-io" -> c.directIo = true;
            default -> {
                return false;
            }
        }
        return true;
    }
}
