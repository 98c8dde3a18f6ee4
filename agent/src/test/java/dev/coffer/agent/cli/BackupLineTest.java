package dev.coffer.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.ExitCodes;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link BackupLine} reads {@code coffer backup}'s command line as picocli does, for every option the
 * command declares, and leaves to picocli every line it does not read the same way.
 */
class BackupLineTest {
    private final PrintWriter out = new PrintWriter(new StringWriter());

    @Test
    void knowsEveryOptionTheCommandDeclares_andNoOther() {
        PlainLineChecks.assertKnowsEveryOption(new BackupCommand(), BackupLine.VALUE_OPTIONS, BackupLine.FLAG_OPTIONS);
    }

    static Stream<List<String>> lines() {
        return Stream.of(
                List.of("/vmfs/ds1/vm1"),
                List.of("--json", "--no-throttle", "--source", "live", "--catalog", "c.db", "--destination", "store",
                        "ds/vm"),
                List.of("--catalog=c.db", "--destination=host:7000", "--token-file", "t", "--tls-ca", "ca.pem",
                        "--tls-cert", "c.pem", "--tls-key", "k.pem", "ds/vm/disk.vmdk", "--full"),
                List.of("--source", "storage-snapshot", "--snapshot", "nightly", "--snapshot-template",
                        "{datastore}/.zfs/snapshot/{snapshot}", "ds/vm"),
                List.of("--block-size", "4MiB", "--policy", "hourly", "ds/vm", "--plaintext", "--destination", "h:1"),
                List.of("--config", "/etc/coffer/agent.yaml", "ds/vm"),
                List.of("--socket", "/run/coffer/query.sock", "--policy=", "ds/vm"),
                List.of("--local", "ds/with space/vm=1"));
    }

    @ParameterizedTest
    @MethodSource("lines")
    void readsALine_asPicocliDoes(List<String> line) throws Exception {
        PlainLineChecks.assertReadsAsPicocli(new BackupCommand(), "backup", line, args -> BackupLine.parse(args, out, out));
    }

    static Stream<List<String>> leftToPicocli() {
        return Stream.of(
                List.of(),
                List.of("--help"),
                List.of("-h"),
                List.of("--version"),
                List.of("-V"),
                List.of("--json"), // no VM folder or disk
                List.of("ds/vm1", "ds/vm2"),
                List.of("ds/vm", "--policy", "a", "--policy", "b"),
                List.of("ds/vm", "--bogus"),
                List.of("ds/vm", "-x"),
                List.of("ds/vm", "--source"),
                List.of("ds/vm", "--source", "--json"),
                List.of("ds/vm", "--json=true"),
                List.of("--", "ds/vm"),
                List.of("ds/vm\0nul"));
    }

    @ParameterizedTest
    @MethodSource("leftToPicocli")
    void leavesALine_toPicocli(List<String> line) {
        assertThat(BackupLine.parse(PlainLineChecks.withCommand("backup", line), out, out)).as("%s", line).isEmpty();
    }

    @Test
    void anotherCommand_isNotRead() {
        assertThat(BackupLine.parse(new String[] {"restore", "ds/vm"}, out, out)).isEmpty();
    }

    @Test
    void aUsageError_stillReadsAsPicocliPutsIt() {
        PlainLineChecks.Ran ran = PlainLineChecks.run("backup", "--json");
        assertThat(ran.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(ran.err()).contains("Missing required parameter: 'VMFOLDER|DISK'")
                .contains("Try 'coffer backup --help' for usage.");
    }

    @Test
    void aFailure_isOneLineAndExitCode1_asThroughPicocli(@TempDir Path tmp) {
        Path missing = tmp.resolve("no-such-vm");
        PlainLineChecks.Ran ran = PlainLineChecks.run("backup", "--catalog", tmp.resolve("c.db").toString(),
                "--destination", tmp.resolve("store").toString(), missing.toString());
        assertThat(ran.code()).isEqualTo(ExitCodes.FAILED);
        assertThat(ran.err()).startsWith("coffer: ").contains(missing.toString())
                .doesNotContain("Exception").hasLineCount(1);
    }
}
