package dev.coffer.agent.cli;

import dev.coffer.agent.ExitCodes;
import dev.coffer.catalog.BackupInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code coffer backups}: every backup in the catalog with its state and figures. */
@Command(name = "backups", mixinStandardHelpOptions = true, description = "List the backups in the catalog.")
public final class BackupsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SessionOptions session;

    @Option(names = "--vm", paramLabel = "NAME", description = "Only this VM's backups.")
    String vm;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Queries q = Queries.open(session)) {
            Queries.Backups found = q.backups(vm);
            Map<Long, String> names = found.vmNames();
            List<BackupInfo> backups = found.backups();
            var out = spec.commandLine().getOut();
            if (json) {
                List<Map<String, Object>> rows = new ArrayList<>();
                for (BackupInfo b : backups) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("id", b.id());
                    m.put("vm", names.get(b.vmId()));
                    m.put("state", b.state().name().toLowerCase(Locale.ROOT));
                    m.put("started", Times.instant(b.started()));
                    m.put("ended", Times.instant(b.ended()));
                    m.put("consistency", b.consistencySource());
                    m.put("policy", b.policy());
                    m.put("files", b.files());
                    m.put("logicalBytes", b.logicalBytes());
                    m.put("newBytes", b.newBytes());
                    m.put("storedBytes", b.storedBytes());
                    m.put("error", b.error());
                    rows.add(m);
                }
                Json.print(out, rows);
                return ExitCodes.OK;
            }
            Table t = new Table("ID", "VM", "STATE", "STARTED", ">TOOK", ">FILES", ">SIZE", ">NEW", ">STORED", "SOURCE");
            for (BackupInfo b : backups) {
                String took = b.ended() == null ? "-" : seconds(Duration.between(b.started(), b.ended()));
                t.row(b.id(), names.get(b.vmId()), b.state().name().toLowerCase(Locale.ROOT), Times.instant(b.started()),
                        took, String.format(Locale.ROOT, "%,d", b.files()), Table.bytes(b.logicalBytes()),
                        Table.bytes(b.newBytes()), Table.bytes(b.storedBytes()), b.consistencySource());
            }
            t.print(out);
            return ExitCodes.OK;
        }
    }

    static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.1fs", d.toMillis() / 1000.0);
    }
}
