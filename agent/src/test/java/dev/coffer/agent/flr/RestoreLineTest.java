package dev.coffer.agent.flr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.ExitCodes;
import dev.coffer.agent.Main;
import dev.coffer.agent.cli.SessionOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@link RestoreLine} reads {@code coffer restore}'s command line as picocli does, for every option the
 * command declares, and leaves to picocli every line it does not read the same way.
 */
class RestoreLineTest {
    private final PrintWriter out = new PrintWriter(new StringWriter());

    @Test
    void knowsEveryOptionTheCommandDeclares_andNoOther() {
        Set<String> flags = new HashSet<>();
        Set<String> values = new HashSet<>();
        for (OptionSpec o : new CommandLine(new RestoreCommand()).getCommandSpec().options()) {
            if (o.usageHelp() || o.versionHelp()) {
                continue; // --help and --version: picocli's, always
            }
            (o.arity().max() == 0 ? flags : values).addAll(List.of(o.names()));
        }
        Set<String> knownFlags = new HashSet<>(RestoreLine.FLAG_OPTIONS);
        knownFlags.addAll(SessionOptions.FLAG_OPTIONS);
        Set<String> knownValues = new HashSet<>(RestoreLine.VALUE_OPTIONS);
        knownValues.addAll(SessionOptions.VALUE_OPTIONS);
        assertThat(knownFlags).as("options without a value").isEqualTo(flags);
        assertThat(knownValues).as("options with a value").isEqualTo(values);
    }

    static Stream<List<String>> lines() {
        return Stream.of(
                List.of("latest:/Users/alice/report.pdf", "--to", "/tmp/out"),
                List.of("--catalog", "c.db", "--destination", "store", "latest:/a", "--to", "out", "--workers", "3",
                        "--existing", "overwrite", "--streams", "--json"),
                List.of("--to=out", "--catalog=c.db", "12:/x:stream", "--glob", "*.pdf", "--vm", "vm1", "--volume",
                        "scsi0:0/1"),
                List.of("--disk", "scsi0:0", "latest", "--to", "-", "--format", "vmdk"),
                List.of("--vm-files", "latest", "--to", "dir", "--local"),
                List.of("--socket", "/run/coffer/query.sock", "latest:/x", "--to", "dir"),
                List.of("--config", "/etc/coffer/c.yaml", "--token-file", "t", "--tls-ca", "ca.pem", "--tls-cert",
                        "c.pem", "--tls-key", "k.pem", "--plaintext", "--destination", "host:7000", "latest:/x", "--to",
                        "http://h:8443/", "--target-token-file", "tt"),
                List.of("latest:/with space/and=equals", "--to", "dir with space", "--glob", "a=b"),
                List.of("--existing=", "latest:/x", "--to", "d"));
    }

    @ParameterizedTest
    @MethodSource("lines")
    void readsALine_asPicocliDoes(List<String> line) throws Exception {
        RestoreCommand byPicocli = new RestoreCommand();
        new CommandLine(byPicocli).parseArgs(line.toArray(String[]::new));

        List<String> args = new ArrayList<>(List.of("restore"));
        args.addAll(line);
        Optional<RestoreCommand> fast = RestoreLine.parse(args.toArray(String[]::new), out);

        assertThat(fast).as("read without picocli: %s", line).isPresent();
        assertThat(fields(fast.get())).isEqualTo(fields(byPicocli));
    }

    static Stream<List<String>> leftToPicocli() {
        return Stream.of(
                List.of(),
                List.of("--help"),
                List.of("-h"),
                List.of("--version"),
                List.of("-V"),
                List.of("latest:/x"), // no --to
                List.of("--to", "d"), // no backup
                List.of("latest:/x", "latest:/y", "--to", "d"),
                List.of("latest:/x", "--to", "a", "--to", "b"),
                List.of("latest:/x", "--to", "d", "--bogus"),
                List.of("latest:/x", "--to", "d", "-x"),
                List.of("latest:/x", "--to"),
                List.of("latest:/x", "--to", "--json"),
                List.of("latest:/x", "--to", "d", "--workers", "-1"),
                List.of("latest:/x", "--to", "d", "--workers", "0x10"),
                List.of("latest:/x", "--to", "d", "--workers", "99999999999"),
                List.of("latest:/x", "--to", "d", "--json=true"),
                List.of("--", "latest:/x", "--to", "d"),
                List.of("latest:/x", "--to", "d", "--catalog", "nul\0byte"));
    }

    @ParameterizedTest
    @MethodSource("leftToPicocli")
    void leavesALine_toPicocli(List<String> line) {
        List<String> args = new ArrayList<>(List.of("restore"));
        args.addAll(line);
        assertThat(RestoreLine.parse(args.toArray(String[]::new), out)).as("%s", line).isEmpty();
    }

    @Test
    void anotherCommand_isNotRead() {
        assertThat(RestoreLine.parse(new String[] {"backup", "latest:/x", "--to", "d"}, out)).isEmpty();
    }

    @Test
    void aUsageError_stillReadsAsPicocliPutsIt() {
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"restore", "latest:/x"}, new PrintWriter(new StringWriter(), true),
                new PrintWriter(err, true));
        assertThat(code).isEqualTo(ExitCodes.USAGE);
        assertThat(err.toString()).contains("Missing required option: '--to=DIR|URL|FILE'")
                .contains("Try 'coffer restore --help' for usage.");
    }

    @Test
    void aFailure_isOneLineAndExitCode1_asThroughPicocli() {
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"restore", "--catalog", "/nonexistent/c.db", "--destination", "/nonexistent/s",
                "latest:/x", "--to", "/nonexistent/out"}, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        assertThat(code).isEqualTo(ExitCodes.FAILED);
        assertThat(err.toString()).isEqualTo("coffer: no catalog at /nonexistent/c.db (no backup was made with it yet)"
                + System.lineSeparator());
    }

    @Test
    void aMistypedStore_isAnErrorNamingIt_andIsNotCreated(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        java.nio.file.Path catalog = tmp.resolve("c.db");
        dev.coffer.catalog.Catalog.open(catalog).close();
        java.nio.file.Path store = tmp.resolve("no-such-store");
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"restore", "--catalog", catalog.toString(), "--destination", store.toString(),
                "latest:/x", "--to", tmp.resolve("out").toString()}, new PrintWriter(new StringWriter(), true),
                new PrintWriter(err, true));
        assertThat(code).isEqualTo(ExitCodes.FAILED);
        assertThat(err.toString()).startsWith("coffer: ");
        assertThat(store).doesNotExist();
    }

    /** The command's option and parameter fields, and its session options', by name. */
    private static Map<String, Object> fields(RestoreCommand c) throws IllegalAccessException {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Field f : RestoreCommand.class.getDeclaredFields()) {
            if (f.isAnnotationPresent(CommandLine.Option.class) || f.isAnnotationPresent(CommandLine.Parameters.class)) {
                f.setAccessible(true);
                m.put(f.getName(), f.get(c));
            }
        }
        Field sessionField;
        try {
            sessionField = RestoreCommand.class.getDeclaredField("session");
        } catch (NoSuchFieldException e) {
            throw new AssertionError(e);
        }
        sessionField.setAccessible(true);
        Object session = sessionField.get(c);
        for (Field f : SessionOptions.class.getDeclaredFields()) {
            if (f.isAnnotationPresent(CommandLine.Option.class)) {
                f.setAccessible(true);
                m.put("session." + f.getName(), f.get(session));
            }
        }
        assertThat(m).as("fields found").hasSizeGreaterThan(20);
        return m;
    }
}
