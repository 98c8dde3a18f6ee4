package dev.coffer.agent.cli;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A command line of the plain shape {@code COMMAND [--option VALUE | --option=VALUE | --flag]... [ARGUMENT]},
 * read without picocli. Building picocli's model of a command (reflection over every option, a proxy per
 * annotation type) took ~90 ms of a one-file restore's start and ~30 ms of CPU of a backup's
 * (docs/performance.md), so the commands whose start counts ({@code restore}, {@code backup}) read their usual lines with this and
 * leave the rest to picocli: help and version options, an unknown or repeated option, a flag given a value,
 * a missing value, a value that starts with a dash, {@code --}, a second argument. picocli then reads the line
 * and reports what is wrong, so usage errors read as they always did.
 */
public final class PlainLine {
    /** One option as given; a flag's value is null. */
    public record Option(String name, String value) {}

    /** The options in the order given and the argument (null when none). */
    public record Read(List<Option> options, String argument) {}

    private PlainLine() {}

    /** Sets one option of a command; false when it is not one of the command's. */
    public interface Setter {
        boolean set(String name, String value);
    }

    /**
     * Reads {@code args}, a line of {@code command} (its name in {@code args[0]}) with its one argument, and
     * hands each option to {@code own} or else to {@code session}; the argument, or empty when picocli should
     * read the line: another command, no argument, not the plain shape, an option that neither takes, or a
     * value that is no path where one is wanted.
     */
    public static Optional<String> read(String[] args, String command, Set<String> valueOptions,
            Set<String> flagOptions, Setter own, SessionOptions session) {
        if (args.length < 2 || !command.equals(args[0])) {
            return Optional.empty();
        }
        Optional<Read> line = read(args, valueOptions, flagOptions);
        if (line.isEmpty() || line.get().argument() == null) {
            return Optional.empty();
        }
        try {
            for (Option o : line.get().options()) {
                if (!own.set(o.name(), o.value()) && !session.set(o.name(), o.value())) {
                    return Optional.empty();
                }
            }
        } catch (java.nio.file.InvalidPathException e) {
            return Optional.empty();
        }
        return Optional.of(line.get().argument());
    }

    /**
     * Reads {@code args} after {@code args[0]} (the command's name); empty when the line is not of the plain
     * shape or names an option outside {@code valueOptions} and {@code flagOptions}.
     */
    static Optional<Read> read(String[] args, Set<String> valueOptions, Set<String> flagOptions) {
        List<Option> options = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        String argument = null;
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("-")) {
                if (argument != null) {
                    return Optional.empty();
                }
                argument = a;
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
            if (flagOptions.contains(name)) {
                if (value != null) {
                    return Optional.empty();
                }
            } else if (valueOptions.contains(name)) {
                if (value == null) {
                    if (i + 1 == args.length || (args[i + 1].startsWith("-") && !args[i + 1].equals("-"))) {
                        return Optional.empty();
                    }
                    value = args[++i];
                }
            } else {
                return Optional.empty();
            }
            options.add(new Option(name, value));
        }
        return Optional.of(new Read(options, argument));
    }

    /** {@code a} and {@code b} together. */
    public static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new HashSet<>(a);
        u.addAll(b);
        return Set.copyOf(u);
    }
}
