package dev.coffer.agent.flr;

import dev.coffer.agent.cli.SessionOptions;
import java.io.PrintWriter;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * {@code coffer restore}'s command line read without picocli, for the lines an operator or a script
 * usually types. A one-file restore is mostly start-up, and picocli's model of the command (reflecting
 * over every option and building a proxy per annotation) took ~90 ms of a 50 MB restore's ~450
 * (docs/performance.md). This reads the same options into a {@link RestoreCommand} as picocli would
 * and gives up on anything else: help and version options, an unknown or repeated option, a missing
 * value or argument, {@code --}, a value that starts with a dash. picocli then reads the line and
 * reports what is wrong, so usage errors read as they always did. {@code RestoreLineTest} checks that
 * every option the command declares is known here and comes out as picocli sets it.
 */
public final class RestoreLine {
    /** {@link RestoreCommand}'s own options that take a value. */
    static final Set<String> VALUE_OPTIONS = Set.of("--to", "--vm", "--volume", "--disk", "--format", "--glob",
            "--existing", "--workers", "--target-token-file");
    /** {@link RestoreCommand}'s own options that take none. */
    static final Set<String> FLAG_OPTIONS = Set.of("--vm-files", "--streams", "--json");

    private RestoreLine() {}

    /**
     * The restore {@code args} ask for ({@code args[0]} is {@code restore}), printing to {@code out};
     * empty when picocli should read the line.
     */
    public static Optional<RestoreCommand> parse(String[] args, PrintWriter out) {
        if (args.length < 2 || !"restore".equals(args[0])) {
            return Optional.empty();
        }
        RestoreCommand c = new RestoreCommand();
        c.session = new SessionOptions();
        c.format = "raw";
        c.existing = "rename";
        Set<String> seen = new HashSet<>();
        try {
            for (int i = 1; i < args.length; i++) {
                String a = args[i];
                if (!a.startsWith("-")) {
                    if (c.what != null) {
                        return Optional.empty();
                    }
                    c.what = a;
                    continue;
                }
                String name = a;
                String value = null;
                int eq = a.indexOf('=');
                if (a.startsWith("--") && eq > 2) {
                    name = a.substring(0, eq);
                    value = a.substring(eq + 1);
                }
                if (!seen.add(name)) {
                    return Optional.empty();
                }
                boolean flag = FLAG_OPTIONS.contains(name) || SessionOptions.FLAG_OPTIONS.contains(name);
                if (flag && value != null) {
                    return Optional.empty();
                }
                if (!flag) {
                    if (!VALUE_OPTIONS.contains(name) && !SessionOptions.VALUE_OPTIONS.contains(name)) {
                        return Optional.empty();
                    }
                    if (value == null) {
                        if (i + 1 == args.length || (args[i + 1].startsWith("-") && !args[i + 1].equals("-"))) {
                            return Optional.empty();
                        }
                        value = args[++i];
                    }
                }
                if (name.equals("--workers") && !value.matches("[0-9]{1,9}")) {
                    return Optional.empty(); // plain decimal only: picocli's reading of signs, hex, overflow is its own
                }
                if (!set(c, name, value) && !c.session.set(name, value)) {
                    return Optional.empty();
                }
            }
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
        if (c.what == null || c.to == null) {
            return Optional.empty();
        }
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
            case "--workers" -> c.workers = Integer.valueOf(value);
            case "--target-token-file" -> c.targetToken = Path.of(value);
            case "--vm-files" -> c.vmFiles = true;
            case "--streams" -> c.streams = true;
            case "--json" -> c.json = true;
            default -> {
                return false;
            }
        }
        return true;
    }
}
