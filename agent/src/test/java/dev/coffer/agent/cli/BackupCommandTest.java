package dev.coffer.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.ExitCodes;
import dev.coffer.agent.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code coffer backup} as a command line, for what fails before any disk is read. */
class BackupCommandTest {
    private static final Path DEMO_VM = Path.of(System.getProperty("user.dir")).getParent()
            .resolve("docs/examples/datastore/demo-vm");

    @TempDir
    Path tmp;

    @Test
    void aMissingStorageSnapshot_failsInOneLine_beforeTheDestinationIsMade() {
        Path store = tmp.resolve("store");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Main.run(new String[] {"backup", "--source", "storage-snapshot", "--snapshot", "nosuch", "--catalog",
                tmp.resolve("c.db").toString(), "--destination", store.toString(), DEMO_VM.toString()},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(rc).isNotEqualTo(ExitCodes.OK);
        assertThat(err.toString().strip()).startsWith("coffer: storage snapshot ").contains(".snapshot/nosuch does not exist")
                .doesNotContain("\n");
        assertThat(Files.exists(store)).as("no store made for a backup that could not start").isFalse();
    }
}
