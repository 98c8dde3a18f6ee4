package dev.coffer.agent.cli;

import dev.coffer.agent.ExitCodes;
import dev.coffer.catalog.BlockUse;
import dev.coffer.catalog.Catalog;
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
 * checks the SHA-256). When an agent runs, the agent verifies (it holds the catalog and store) and
 * this follows its job.
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
        var agent = session.agent();
        Map<String, Object> summary;
        if (agent.isPresent()) {
            // the agent holds the catalog and (embedded) store: it verifies, this follows its job
            com.fasterxml.jackson.databind.JsonNode job = Agent.post(agent.get(), "/v1/verify", Map.of());
            com.fasterxml.jackson.databind.JsonNode end = Agent.follow(agent.get(), job.get("id").asText(), "verify",
                    j -> new Progress.Snapshot(0, 0, ""));
            com.fasterxml.jackson.databind.JsonNode r = end.path("result");
            if (!r.has("blocksChecked")) {
                throw new java.io.IOException("verify " + end.path("state").asText() + ": " + end.path("error").asText());
            }
            summary = Json.mapper().convertValue(r, new com.fasterxml.jackson.core.type.TypeReference<LinkedHashMap<String,
                    Object>>() { });
        } else {
            try (Session s = Session.open(session, false)) {
                summary = verify(s.catalog(), s.destination());
            }
        }
        var out = spec.commandLine().getOut();
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) summary.get("affected");
        long damaged = ((Number) summary.get("damagedBlocks")).longValue();
        if (json) {
            Json.print(out, summary);
        } else {
            out.printf("checked %,d blocks: %s%n", ((Number) summary.get("blocksChecked")).longValue(),
                    damaged == 0 ? "all intact" : damaged + " damaged");
            for (Map<String, Object> m : rows) {
                out.printf("  backup %s  %s  (%s)%n", m.get("backup"), m.get("path"), m.get("problem"));
            }
            out.flush();
        }
        return damaged == 0 ? ExitCodes.OK : ExitCodes.FAILED;
    }

    /**
     * Re-reads and re-hashes what the catalog's backups reference at {@code d} and names the backups and
     * files any damage touches: {@code blocksChecked}, {@code damagedBlocks}, {@code affected}
     * [{@code backup}, {@code path}, {@code stream}, {@code block}, {@code problem}]. Used by this command
     * and by the agent's verify job.
     */
    public static Map<String, Object> verify(Catalog catalog, Destination d)
            throws java.io.IOException, InterruptedException {
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
            catalog.forEachReferencedBlock(List.of(), refs::add);
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
            for (BlockUse u : catalog.backupsReferencing(damaged.get(i))) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("backup", u.backupId());
                m.put("path", u.path() == null ? "(disk region " + u.regionId() + ")" : u.path());
                m.put("stream", u.stream());
                m.put("block", HexFormat.of().formatHex(damaged.get(i)));
                m.put("problem", reasons.get(i));
                rows.add(m);
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("blocksChecked", checked);
        m.put("damagedBlocks", damaged.size());
        m.put("affected", rows);
        return m;
    }
}
