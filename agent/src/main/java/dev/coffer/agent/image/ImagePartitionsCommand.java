package dev.coffer.agent.image;

import dev.coffer.agent.ExitCodes;
import dev.coffer.agent.cli.Json;
import dev.coffer.vmdk.Partition;
import dev.coffer.vmdk.PartitionTable;
import dev.coffer.vmdk.VirtualDisk;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code coffer image partitions DISK}: the MBR or GPT partitions of a virtual disk. */
@Command(mixinStandardHelpOptions = true, name = "partitions", description = "List the MBR/GPT partitions of a disk: type, offset, length.")
final class ImagePartitionsCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ImageCommand.DiskOptions disk;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (VirtualDisk d = disk.open()) {
            PartitionTable t = PartitionTable.read(d, disk.disk.toString());
            if (json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("scheme", t.scheme().name());
                doc.put("usedBackupGpt", t.usedBackupGpt());
                List<Map<String, Object>> parts = new ArrayList<>();
                for (Partition p : t.partitions()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("index", p.index());
                    m.put("offset", p.offset());
                    m.put("length", p.length());
                    m.put("kind", p.kind());
                    if (p.mbrType() >= 0) {
                        m.put("mbrType", String.format("0x%02x", p.mbrType()));
                    } else {
                        m.put("typeGuid", p.typeGuid());
                        m.put("partitionGuid", p.partitionGuid());
                        m.put("name", p.name());
                    }
                    parts.add(m);
                }
                doc.put("partitions", parts);
                Json.print(out, doc);
                return ExitCodes.OK;
            }
            out.printf("scheme: %s%s%n", t.scheme(), t.usedBackupGpt() ? " (primary GPT damaged: backup header used)" : "");
            if (!t.partitions().isEmpty()) {
                out.printf("%-3s %14s %14s %-38s %s%n", "#", "OFFSET", "LENGTH", "TYPE", "KIND / NAME");
            }
            for (Partition p : t.partitions()) {
                out.printf("%-3d %14d %14d %-38s %s%s%n", p.index(), p.offset(), p.length(),
                        p.mbrType() >= 0 ? String.format("0x%02x", p.mbrType()) : p.typeGuid(), p.kind(),
                        p.name().isEmpty() ? "" : " \"" + p.name() + "\"");
            }
            out.flush();
        }
        return ExitCodes.OK;
    }
}
