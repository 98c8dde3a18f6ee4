package dev.coffer.agent.image;

import dev.coffer.agent.ExitCodes;
import dev.coffer.agent.cli.Json;
import dev.coffer.vmdk.AllocatedRange;
import dev.coffer.vmdk.Layer;
import dev.coffer.vmdk.VirtualDisk;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code coffer image map DISK}: which layer of the chain holds each range of the virtual disk
 * (data, zero, or unallocated); with {@code --leaf}, only what the leaf layer holds, the ranges an
 * incremental backup of a snapshot delta reads.
 */
@Command(mixinStandardHelpOptions = true, name = "map", description = "Show which layer holds each range (data/zero/unallocated).")
final class ImageMapCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ImageCommand.DiskOptions disk;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Option(names = "--leaf", description = "Only the leaf layer's own ranges (what an incremental reads).")
    boolean leaf;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (VirtualDisk d = disk.open()) {
            List<AllocatedRange> ranges = leaf ? d.leafAllocation(0, d.size()) : d.allocation(0, d.size());
            List<Layer> chain = d.chain();
            if (json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("capacity", d.size());
                doc.put("chain", chain.stream().map(l -> l.path().toString()).toList());
                List<Map<String, Object>> rs = new ArrayList<>();
                for (AllocatedRange r : ranges) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("offset", r.offset());
                    m.put("length", r.length());
                    m.put("layer", r.layer());
                    m.put("kind", r.kind().name().toLowerCase(Locale.ROOT));
                    rs.add(m);
                }
                doc.put("ranges", rs);
                Json.print(out, doc);
                return ExitCodes.OK;
            }
            out.printf("%18s %18s %5s  %-11s %s%n", "OFFSET", "LENGTH", "LAYER", "KIND", "FILE");
            long[] perLayer = new long[chain.size()];
            for (AllocatedRange r : ranges) {
                out.printf("%#18x %#18x %5d  %-11s %s%n", r.offset(), r.length(), r.layer(),
                        r.kind().name().toLowerCase(Locale.ROOT),
                        r.layer() >= 0 ? chain.get(r.layer()).path().getFileName() : "-");
                if (r.layer() >= 0 && r.kind() == AllocatedRange.Kind.DATA) {
                    perLayer[r.layer()] += r.length();
                }
            }
            for (int i = 0; i < (leaf ? 1 : chain.size()); i++) {
                out.printf("layer %d %s: %s of data%n", i, chain.get(i).path().getFileName(),
                        ImageCommand.human(perLayer[i]));
            }
            out.flush();
        }
        return ExitCodes.OK;
    }
}
