package dev.coffer.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** The checks of the plain command-line readers ({@link PlainLine}) against picocli's reading. */
public final class PlainLineChecks {
    private PlainLineChecks() {}

    /** A command's option and parameter fields, and those of its {@code session} options, by name. */
    public static Map<String, Object> of(Object command) throws IllegalAccessException {
        Map<String, Object> m = new LinkedHashMap<>();
        Object session = null;
        for (Field f : command.getClass().getDeclaredFields()) {
            if (f.isAnnotationPresent(CommandLine.Option.class) || f.isAnnotationPresent(CommandLine.Parameters.class)) {
                f.setAccessible(true);
                m.put(f.getName(), f.get(command));
            } else if (f.getType() == SessionOptions.class) {
                f.setAccessible(true);
                session = f.get(command);
            }
        }
        assertThat(session).as("session options").isNotNull();
        for (Field f : SessionOptions.class.getDeclaredFields()) {
            if (f.isAnnotationPresent(CommandLine.Option.class)) {
                f.setAccessible(true);
                m.put("session." + f.getName(), f.get(session));
            }
        }
        assertThat(m).as("fields found").hasSizeGreaterThan(15);
        return m;
    }

    /** What {@link dev.coffer.agent.Main#run} returned and wrote to stderr. */
    public record Ran(int code, String err) {}

    /** Runs one command line in-process, as the launcher would. */
    public static Ran run(String... args) {
        java.io.StringWriter err = new java.io.StringWriter();
        int code = dev.coffer.agent.Main.run(args, new java.io.PrintWriter(new java.io.StringWriter(), true),
                new java.io.PrintWriter(err, true));
        return new Ran(code, err.toString());
    }

    /** {@code command} and then {@code line}: the arguments a plain reader is given. */
    public static String[] withCommand(String command, List<String> line) {
        List<String> args = new java.util.ArrayList<>(List.of(command));
        args.addAll(line);
        return args.toArray(String[]::new);
    }

    /**
     * Checks that {@code plain} reads {@code command line} into the fields picocli sets when it reads
     * {@code line} into {@code fresh}, a new instance of the command.
     */
    public static void assertReadsAsPicocli(Object fresh, String command, List<String> line,
            Function<String[], Optional<?>> plain) throws IllegalAccessException {
        new CommandLine(fresh).parseArgs(line.toArray(String[]::new));
        Optional<?> read = plain.apply(withCommand(command, line));
        assertThat(read).as("read without picocli: %s", line).isPresent();
        assertThat(of(read.get())).isEqualTo(of(fresh));
    }

    /**
     * Checks that the options a plain reader knows, with the session's, are exactly those picocli
     * declares for {@code command} (help and version aside).
     */
    public static void assertKnowsEveryOption(Object command, Set<String> valueOptions, Set<String> flagOptions) {
        Set<String> flags = new HashSet<>();
        Set<String> values = new HashSet<>();
        for (OptionSpec o : new CommandLine(command).getCommandSpec().options()) {
            if (o.usageHelp() || o.versionHelp()) {
                continue; // --help and --version: picocli's, always
            }
            (o.arity().max() == 0 ? flags : values).addAll(List.of(o.names()));
        }
        assertThat(PlainLine.union(flagOptions, SessionOptions.FLAG_OPTIONS)).as("options without a value")
                .isEqualTo(flags);
        assertThat(PlainLine.union(valueOptions, SessionOptions.VALUE_OPTIONS)).as("options with a value")
                .isEqualTo(values);
    }
}
