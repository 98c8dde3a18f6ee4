package dev.coffer.agent.cli;

import dev.coffer.agent.ExitCodes;
import dev.coffer.catalog.DiffEntry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code coffer diff A B}: what was added, removed and changed between two backups. */
@Command(name = "diff", mixinStandardHelpOptions = true, description = "Files added, removed and changed between two backups.")
public final class DiffCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SessionOptions session;

    @Parameters(index = "0", paramLabel = "BEFORE", description = "[VM@]ID|latest")
    String before;

    @Parameters(index = "1", paramLabel = "AFTER", description = "[VM@]ID|latest")
    String after;

    @Option(names = "--vm", paramLabel = "NAME", description = "The VM, for 'latest'.")
    String vm;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Queries q = Queries.open(session)) {
            List<DiffEntry> diff = q.diff(before, after, vm);
            var out = spec.commandLine().getOut();
            if (json) {
                List<Map<String, Object>> rows = new ArrayList<>();
                for (DiffEntry d : diff) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("change", d.change().name().toLowerCase(Locale.ROOT));
                    m.put("path", d.path());
                    m.put("sizeBefore", d.sizeBefore());
                    m.put("sizeAfter", d.sizeAfter());
                    rows.add(m);
                }
                Json.print(out, rows);
                return ExitCodes.OK;
            }
            Table t = new Table("CHANGE", ">BEFORE", ">AFTER", "PATH");
            for (DiffEntry d : diff) {
                String c = switch (d.change()) {
                    case ADDED -> "+";
                    case REMOVED -> "-";
                    case CHANGED -> "M";
                };
                t.row(c, d.change() == DiffEntry.Change.ADDED ? "" : d.sizeBefore(),
                        d.change() == DiffEntry.Change.REMOVED ? "" : d.sizeAfter(), d.path());
            }
            t.print(out);
            return ExitCodes.OK;
        }
    }
}
