package dev.coffer.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every command answers {@code --help}: each usage error tells the operator to try it. */
class HelpTest {
    @Test
    void everyCommandAndSubcommand_printsItsUsage_onHelp() {
        List<List<String>> paths = new ArrayList<>();
        walk(CofferCommand.commandLine(new String[0]), new ArrayList<>(), paths);
        assertThat(paths).as("the command tree was walked").hasSizeGreaterThan(20);
        for (List<String> path : paths) {
            List<String> args = new ArrayList<>(path);
            args.add("--help");
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Main.run(args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
            String line = "coffer " + String.join(" ", args);
            assertThat(code).as("%s exits 0; stderr: %s", line, err).isZero();
            assertThat(out.toString()).as(line).startsWith("Usage: coffer " + String.join(" ", path));
        }
    }

    private static void walk(CommandLine cli, List<String> path, List<List<String>> out) {
        cli.getSubcommands().forEach((name, sub) -> {
            if (name.equals("help") || !sub.getCommandSpec().name().equals(name)
                    || sub.getCommandSpec().usageMessage().hidden()) {
                return; // the help command, aliases (each command once, by its name), hidden ones (cds-train)
            }
            List<String> p = new ArrayList<>(path);
            p.add(name);
            out.add(p);
            walk(sub, p, out);
        });
    }
}
