package dev.coffer.agent.cli;

import dev.coffer.agent.ExitCodes;
import dev.coffer.catalog.BlockUse;
import dev.coffer.dedup.Destination;
import dev.coffer.dedup.LocalDestination;
import dev.coffer.dedup.VerifyReport;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code coffer verify}: re-reads and re-hashes the backup data and says which backups and files any
 * damage touches. An embedded store is verified in place (every pack read); a remote destination is
 * verified from here by fetching every block the catalog's complete backups reference (each fetch
 * checks the SHA-256).
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Re-read and re-hash the backup data; report damage by backup and file.")
public final class VerifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SessionOptions session;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Session s = Session.open(session, false)) {
            Destination d = s.destination();
            List<byte[]> damaged = new ArrayList<>();
            List<String> reasons = new ArrayList<>();
            long checked;
            if (d instanceof LocalDestination local) {
                VerifyReport r = local.store().verify();
                checked = r.blocksChecked();
                for (String line : r.damaged()) {
                    String hex = line.split("[\\s:]", 2)[0];
                    if (hex.matches("[0-9a-f]{64}")) {
                        damaged.add(HexFormat.of().parseHex(hex));
                        reasons.add(line);
                    }
                }
            } else {
                List<byte[]> refs = new ArrayList<>();
                s.catalog().forEachReferencedBlock(List.of(), refs::add);
                checked = refs.size();
                for (byte[] sha : refs) {
                    try {
                        d.get(sha).get();
                    } catch (ExecutionException e) {
                        damaged.add(sha);
                        reasons.add(HexFormat.of().formatHex(sha) + ": " + e.getCause().getMessage());
                    }
                }
            }
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int i = 0; i < damaged.size(); i++) {
                for (BlockUse u : s.catalog().backupsReferencing(damaged.get(i))) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("backup", u.backupId());
                    m.put("path", u.path() == null ? "(disk region " + u.regionId() + ")" : u.path());
                    m.put("stream", u.stream());
                    m.put("block", HexFormat.of().formatHex(damaged.get(i)));
                    m.put("problem", reasons.get(i));
                    rows.add(m);
                }
            }
            var out = spec.commandLine().getOut();
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("blocksChecked", checked);
                m.put("damagedBlocks", damaged.size());
                m.put("affected", rows);
                Json.print(out, m);
            } else {
                out.printf("checked %,d blocks: %s%n", checked, damaged.isEmpty() ? "all intact"
                        : damaged.size() + " damaged");
                for (Map<String, Object> m : rows) {
                    out.printf("  backup %s  %s  (%s)%n", m.get("backup"), m.get("path"), m.get("problem"));
                }
                out.flush();
            }
            return damaged.isEmpty() ? ExitCodes.OK : ExitCodes.FAILED;
        }
    }
}
