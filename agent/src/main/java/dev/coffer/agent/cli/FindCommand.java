package dev.coffer.agent.cli;

import dev.coffer.agent.ExitCodes;
import dev.coffer.catalog.VersionSpan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code coffer find PATTERN}: files whose name matches, across every backup or one. */
@Command(name = "find", mixinStandardHelpOptions = true,
        description = "Find files by name glob (or --regex) across all backups, or in one with --backup.")
public final class FindCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SessionOptions session;

    @Parameters(index = "0", paramLabel = "PATTERN", description = "A name glob such as '*.pdf' (or a regex with --regex).")
    String pattern;

    @Option(names = "--regex", description = "PATTERN is a regular expression over the full path.")
    boolean regex;

    @Option(names = "--backup", paramLabel = "[VM@]ID|latest", description = "Search one backup only.")
    String backup;

    @Option(names = "--vm", paramLabel = "NAME", description = "With --backup latest: the VM.")
    String vm;

    @Option(names = "--limit", description = "At most this many matches (default ${DEFAULT-VALUE}).", defaultValue = "1000")
    int limit;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Queries q = Queries.open(session)) {
            print(spec, q.find(pattern, regex, backup, vm, limit), json);
            return ExitCodes.OK;
        }
    }

    /** Prints version spans: the version and the backups it is in. */
    static void print(CommandSpec spec, List<VersionSpan> spans, boolean json) throws java.io.IOException {
        var out = spec.commandLine().getOut();
        if (json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (VersionSpan v : spans) {
                Map<String, Object> m = LsCommand.entryJson(v.entry());
                m.put("backups", v.backups());
                rows.add(m);
            }
            Json.print(out, rows);
            return;
        }
        Table t = new Table("TYPE", ">SIZE", "MODIFIED", "BACKUPS", "PATH");
        for (VersionSpan v : spans) {
            t.row(LsCommand.type(v.entry().kind()), v.entry().size(), Times.nanos(v.entry().modifiedNanos()),
                    ranges(v.backups()), v.entry().path());
        }
        t.print(out);
    }

    /** [1,2,3,5] -> "1-3,5". */
    static String ranges(List<Long> ids) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.size(); ) {
            int j = i;
            while (j + 1 < ids.size() && ids.get(j + 1) == ids.get(j) + 1) {
                j++;
            }
            sb.append(sb.length() == 0 ? "" : ",").append(ids.get(i));
            if (j > i) {
                sb.append('-').append(ids.get(j));
            }
            i = j + 1;
        }
        return sb.toString();
    }
}
