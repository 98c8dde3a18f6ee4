package dev.coffer.agent.image;

import dev.coffer.agent.ExitCodes;
import dev.coffer.agent.cli.Json;
import dev.coffer.vmdk.ExtentDescriptor;
import dev.coffer.vmdk.Layer;
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

/**
 * {@code coffer image info DISK}: createType, capacity, extents, the snapshot chain, grain size and
 * allocated bytes of every layer, and the descriptor's ddb keys.
 */
@Command(mixinStandardHelpOptions = true, name = "info", description = "Show a disk's type, capacity, extents, chain, grain size and allocated bytes.")
final class ImageInfoCommand implements Callable<Integer> {
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
            Map<String, Object> doc = describe(d);
            if (json) {
                Json.print(out, doc);
                return ExitCodes.OK;
            }
            out.printf("disk:       %s%n", disk.disk);
            out.printf("createType: %s%n", doc.get("createType"));
            out.printf("capacity:   %s%n", ImageCommand.human(d.size()));
            out.printf("grain size: %s%n", d.chain().get(0).grainSize() == 0 ? "- (flat)"
                    : ImageCommand.human(d.chain().get(0).grainSize()));
            out.printf("allocated:  %s (leaf layer)%n", ImageCommand.human((Long) doc.get("allocatedBytes")));
            out.printf("chain:      %d layer%s, leaf first%n", d.chain().size(), d.chain().size() == 1 ? "" : "s");
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> layers = (List<Map<String, Object>>) doc.get("chain");
            for (int i = 0; i < layers.size(); i++) {
                Map<String, Object> l = layers.get(i);
                out.printf("  [%d] %s%n", i, l.get("path"));
                out.printf("      createType=%s CID=%s parentCID=%s size=%s grain=%s allocated=%s%n",
                        l.get("createType"), l.get("cid"), l.get("parentCid"), l.get("size"), l.get("grainSize"),
                        l.get("allocatedBytes"));
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> extents = (List<Map<String, Object>>) l.get("extents");
                for (Map<String, Object> e : extents) {
                    out.printf("      extent %s %s sectors %s %s%s: %s%n", e.get("access"), e.get("sizeSectors"),
                            e.get("type"), e.get("file") == null ? "" : "\"" + e.get("file") + "\"",
                            ((Long) e.get("offsetSectors")) != 0 ? " @" + e.get("offsetSectors") : "", e.get("detail"));
                }
                @SuppressWarnings("unchecked")
                Map<String, String> ddb = (Map<String, String>) l.get("ddb");
                ddb.forEach((k, v) -> out.printf("      %s = \"%s\"%n", k, v));
            }
            out.flush();
        }
        return ExitCodes.OK;
    }

    /** The info document (the --json output): every value as the library reports it. */
    static Map<String, Object> describe(VirtualDisk d) throws java.io.IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        Layer leaf = d.chain().get(0);
        doc.put("path", leaf.path().toString());
        doc.put("createType", leaf.createType());
        doc.put("capacity", d.size());
        doc.put("grainSize", leaf.grainSize());
        List<Map<String, Object>> layers = new ArrayList<>();
        for (Layer l : d.chain()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("path", l.path().toString());
            m.put("createType", l.createType());
            m.put("cid", String.format("%08x", l.cid()));
            m.put("parentCid", String.format("%08x", l.parentCid()));
            m.put("size", l.size());
            m.put("grainSize", l.grainSize());
            m.put("allocatedBytes", l.allocatedBytes());
            List<Map<String, Object>> extents = new ArrayList<>();
            List<String> details = l.extentDetails();
            for (int i = 0; i < l.extents().size(); i++) {
                ExtentDescriptor e = l.extents().get(i);
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("access", e.access());
                x.put("sizeSectors", e.sizeSectors());
                x.put("type", e.type().name());
                x.put("file", e.fileName());
                x.put("offsetSectors", e.offsetSectors());
                x.put("detail", i < details.size() ? details.get(i) : "");
                extents.add(x);
            }
            m.put("extents", extents);
            m.put("ddb", l.descriptor().map(dd -> dd.ddb()).orElse(Map.of()));
            layers.add(m);
        }
        doc.put("allocatedBytes", layers.get(0).get("allocatedBytes"));
        doc.put("chain", layers);
        return doc;
    }
}
