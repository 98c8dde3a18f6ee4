package dev.coffer.agent.flr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.ExitCodes;
import dev.coffer.agent.cli.PlainLineChecks;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link RestoreLine} reads {@code coffer restore}'s command line as picocli does, for every option the
 * command declares, and leaves to picocli every line it does not read the same way.
 */
class RestoreLineTest {
    private final PrintWriter out = new PrintWriter(new StringWriter());

    @Test
    void knowsEveryOptionTheCommandDeclares_andNoOther() {
        PlainLineChecks.assertKnowsEveryOption(new RestoreCommand(), RestoreLine.VALUE_OPTIONS, RestoreLine.FLAG_OPTIONS);
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
        PlainLineChecks.assertReadsAsPicocli(new RestoreCommand(), "restore", line, args -> RestoreLine.parse(args, out));
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
        assertThat(RestoreLine.parse(PlainLineChecks.withCommand("restore", line), out)).as("%s", line).isEmpty();
    }

    @Test
    void anotherCommand_isNotRead() {
        assertThat(RestoreLine.parse(new String[] {"backup", "latest:/x", "--to", "d"}, out)).isEmpty();
    }

    @Test
    void aUsageError_stillReadsAsPicocliPutsIt() {
        PlainLineChecks.Ran ran = PlainLineChecks.run("restore", "latest:/x");
        assertThat(ran.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ran.err()).contains("Missing required option: '--to=DIR|URL|FILE'")
                .contains("Try 'coffer restore --help' for usage.");
    }

    @Test
    void aFailure_isOneLineAndExitCode1_asThroughPicocli() {
        PlainLineChecks.Ran ran = PlainLineChecks.run("restore", "--catalog", "/nonexistent/c.db", "--destination", "/nonexistent/s",
                "latest:/x", "--to", "/nonexistent/out");
        assertThat(ran.code()).isEqualTo(ExitCodes.FAILED);
        assertThat(ran.err()).isEqualTo("coffer: no catalog at /nonexistent/c.db (no backup was made with it yet)"
                + System.lineSeparator());
    }

    @Test
    void aMistypedStore_isAnErrorNamingIt_andIsNotCreated(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        java.nio.file.Path catalog = tmp.resolve("c.db");
        dev.coffer.catalog.Catalog.open(catalog).close();
        java.nio.file.Path store = tmp.resolve("no-such-store");
        PlainLineChecks.Ran ran = PlainLineChecks.run("restore", "--catalog", catalog.toString(), "--destination",
                store.toString(), "latest:/x", "--to", tmp.resolve("out").toString());
        assertThat(ran.code()).isEqualTo(ExitCodes.FAILED);
        assertThat(ran.err()).startsWith("coffer: ");
        assertThat(store).doesNotExist();
    }
}
