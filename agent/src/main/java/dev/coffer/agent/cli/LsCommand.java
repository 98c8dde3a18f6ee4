package dev.coffer.agent.cli;

import dev.coffer.agent.ExitCodes;
import dev.coffer.catalog.Entry;
import dev.coffer.catalog.FileKind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code coffer ls BACKUP[:PATH]}: a directory as a backup saw it, from the catalog alone. */
@Command(name = "ls", mixinStandardHelpOptions = true,
        description = "List a directory of a backup: [VM@]ID|latest[:/PATH].")
public final class LsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SessionOptions session;

    @Parameters(index = "0", paramLabel = "BACKUP[:PATH]")
    String target;

    @Option(names = "--vm", paramLabel = "NAME", description = "The VM, when the catalog holds several.")
    String vm;

    @Option(names = "--volume", paramLabel = "SLOT/PARTITION", description = "The volume, when the backup has several.")
    String volume;

    @Option(names = "--offset", description = "Skip this many entries (paging).")
    int offset;

    @Option(names = "--limit", description = "At most this many entries (default: all).")
    int limit;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Queries q = Queries.open(session)) {
            List<Entry> entries = q.list(target, vm, volume, offset, limit).entries();
            var out = spec.commandLine().getOut();
            if (json) {
                List<Map<String, Object>> rows = new ArrayList<>();
                for (Entry e : entries) {
                    rows.add(entryJson(e));
                }
                Json.print(out, rows);
                return ExitCodes.OK;
            }
            Table t = new Table("TYPE", ">SIZE", "MODIFIED", "NAME");
            for (Entry e : entries) {
                t.row(type(e.kind()), e.kind() == FileKind.DIRECTORY ? "" : Long.toString(e.size()),
                        Times.nanos(e.modifiedNanos()), e.name());
            }
            t.print(out);
            return ExitCodes.OK;
        }
    }

    static String type(FileKind k) {
        return switch (k) {
            case DIRECTORY -> "d";
            case SYMLINK -> "l";
            case FILE -> "r";
        };
    }

    static Map<String, Object> entryJson(Entry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", e.path());
        m.put("name", e.name());
        m.put("type", e.kind().name().toLowerCase(java.util.Locale.ROOT));
        m.put("size", e.size());
        m.put("modified", Times.nanos(e.modifiedNanos()));
        m.put("created", Times.nanos(e.createdNanos()));
        m.put("accessed", Times.nanos(e.accessedNanos()));
        m.put("mftChanged", Times.nanos(e.mftChangedNanos()));
        m.put("attributes", e.attributes());
        m.put("mftRecord", e.mftRecord());
        m.put("mftSequence", e.mftSequence());
        return m;
    }
}
