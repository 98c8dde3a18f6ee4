package dev.coffer.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * Test-side writers for the formats nothing here can write: ESXi vmfsSparse (COWD) and seSparse
 * deltas, plus text descriptors. Written from the published format facts (see CowdExtentReader and
 * SeSparseExtentReader for the layouts), then read by qemu-img as the independent check.
 */
final class TestImages {
    private TestImages() {}

    /** What a grain of a delta holds. */
    sealed interface Grain permits Data, Zero, Unmapped {}

    /** Grain content (exactly one grain long). */
    record Data(byte[] bytes) implements Grain {}

    /** seSparse zeroed grain. */
    record Zero() implements Grain {}

    /** seSparse SCSI-unmapped grain (reads as zeros). */
    record Unmapped() implements Grain {}

    /** A text descriptor with one extent line per {@code extents} entry ("RW n TYPE \"file\" ..."). */
    static String descriptor(String createType, long cid, long parentCid, String parentHint, String... extents) {
        StringBuilder b = new StringBuilder("# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\n");
        b.append(String.format("CID=%08x%nparentCID=%08x%n", cid, parentCid));
        b.append("createType=\"").append(createType).append("\"\n");
        if (parentHint != null) {
            b.append("parentFileNameHint=\"").append(parentHint).append("\"\n");
        }
        b.append("\n# Extent description\n");
        for (String e : extents) {
            b.append(e).append('\n');
        }
        b.append("\n# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\nddb.virtualHWVersion = \"14\"\n");
        return b.toString();
    }

    static void writeText(Path p, String text) throws IOException {
        Files.writeString(p, text, StandardCharsets.UTF_8);
    }

    /**
     * Writes a COWD (vmfsSparse) extent of {@code sectors} capacity with {@code grainSectors}-sector
     * grains holding {@code grains} (grain index to content; only Data is representable).
     * Layout: 2048-byte header, grain directory at sector 4, grain tables (4096 u32 each), grains.
     */
    static void cowd(Path out, long sectors, int grainSectors, Map<Long, Grain> grains) throws IOException {
        int gtEntries = 4096;
        long span = (long) grainSectors * gtEntries;
        int gdEntries = (int) ((sectors + span - 1) / span);
        long gdSector = 4;
        long gdSectors = (gdEntries * 4L + 511) / 512;
        TreeMap<Long, Grain> sorted = new TreeMap<>(grains);
        TreeMap<Integer, Long> tables = new TreeMap<>();
        long next = gdSector + gdSectors;
        for (long g : sorted.keySet()) {
            int t = (int) (g / gtEntries);
            if (!tables.containsKey(t)) {
                tables.put(t, next);
                next += gtEntries * 4L / 512;
            }
        }
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer gd = le((int) (gdSectors * 512));
            tables.forEach((t, s) -> gd.putInt(t * 4, s.intValue()));
            ch.write(gd, gdSector * 512);
            Map<Integer, ByteBuffer> gts = new TreeMap<>();
            for (var e : sorted.entrySet()) {
                byte[] data = ((Data) e.getValue()).bytes();
                if (data.length != grainSectors * 512) {
                    throw new IllegalArgumentException("grain of " + data.length + " bytes");
                }
                int t = (int) (e.getKey() / gtEntries);
                int at = (int) next;
                gts.computeIfAbsent(t, k -> le(gtEntries * 4)).putInt((int) (e.getKey() % gtEntries) * 4, at);
                ch.write(ByteBuffer.wrap(data), next * 512);
                next += grainSectors;
            }
            for (var e : gts.entrySet()) {
                ch.write(e.getValue(), tables.get(e.getKey()) * 512);
            }
            ByteBuffer h = le(2048);
            h.put(0, "COWD".getBytes(StandardCharsets.US_ASCII));
            h.putInt(0x04, 1); // version
            h.putInt(0x08, 3); // flags as ESX writes them
            h.putInt(0x0C, (int) sectors);
            h.putInt(0x10, grainSectors);
            h.putInt(0x14, (int) gdSector);
            h.putInt(0x18, gdEntries);
            h.putInt(0x1C, (int) next); // freeSector
            ch.write(h, 0);
            ch.truncate(Math.max(ch.size(), next * 512));
        }
    }

    /**
     * Writes a seSparse extent of {@code sectors} capacity (4 KiB grains, 4096-entry grain tables, as
     * VMware writes it) holding {@code grains}: Data is stored (in reverse grain order, so the grain
     * index mapping is exercised), Zero and Unmapped are table entries only.
     */
    static void seSparse(Path out, long sectors, Map<Long, Grain> grains) throws IOException {
        int grainSectors = 8;
        int gtEntries = 4096;
        long gtSectors = 64;
        long span = (long) grainSectors * gtEntries;
        long gdEntries = (sectors + span - 1) / span;
        long gdSectors = (gdEntries * 8 + 511) / 512;
        TreeMap<Long, Grain> sorted = new TreeMap<>(grains);
        TreeMap<Long, Integer> tableIndex = new TreeMap<>();
        for (long g : sorted.keySet()) {
            tableIndex.computeIfAbsent(g / gtEntries, k -> tableIndex.size());
        }
        long volatileAt = 1;
        long journalHeaderAt = 2;
        long journalAt = 3;
        long gdAt = 4;
        long tablesAt = gdAt + gdSectors;
        long tablesSectors = Math.max(1, tableIndex.size()) * gtSectors;
        long bitmapAt = tablesAt + tablesSectors;
        long backmapAt = bitmapAt + 1;
        long grainsAt = backmapAt + 1;
        long dataGrains = sorted.values().stream().filter(g -> g instanceof Data).count();
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer h = le(512);
            h.putLong(0x00, 0xcafebabeL);
            h.putLong(0x08, 0x0000000200000001L);
            h.putLong(0x10, sectors);
            h.putLong(0x18, grainSectors);
            h.putLong(0x20, gtSectors);
            h.putLong(0x50, volatileAt).putLong(0x58, 1);
            h.putLong(0x60, journalHeaderAt).putLong(0x68, 1);
            h.putLong(0x70, journalAt).putLong(0x78, 1);
            h.putLong(0x80, gdAt).putLong(0x88, gdSectors);
            h.putLong(0x90, tablesAt).putLong(0x98, tablesSectors);
            h.putLong(0xA0, bitmapAt).putLong(0xA8, 1);
            h.putLong(0xB0, backmapAt).putLong(0xB8, 1);
            h.putLong(0xC0, grainsAt).putLong(0xC8, Math.max(1, dataGrains) * grainSectors);
            ch.write(h, 0);
            ByteBuffer v = le(512);
            v.putLong(0x00, 0xcafecafeL).putLong(0x08, tableIndex.size());
            ch.write(v, volatileAt * 512);
            ByteBuffer gd = le((int) (gdSectors * 512));
            tableIndex.forEach((t, i) -> gd.putLong((int) (t * 8), 0x1000000000000000L | i));
            ch.write(gd, gdAt * 512);
            Map<Long, ByteBuffer> gts = new TreeMap<>();
            long slot = dataGrains - 1; // store grains back to front
            for (var e : sorted.entrySet()) {
                long g = e.getKey();
                long entry;
                if (e.getValue() instanceof Data d) {
                    if (d.bytes().length != grainSectors * 512) {
                        throw new IllegalArgumentException("grain of " + d.bytes().length + " bytes");
                    }
                    long k = slot--;
                    entry = 0x3000000000000000L | ((k & 0xfffL) << 48) | (k >>> 12);
                    ch.write(ByteBuffer.wrap(d.bytes()), (grainsAt + k * grainSectors) * 512);
                } else if (e.getValue() instanceof Zero) {
                    entry = 0x2000000000000000L;
                } else {
                    entry = 0x1000000000000000L;
                }
                gts.computeIfAbsent(g / gtEntries, k -> le(gtEntries * 8)).putLong((int) (g % gtEntries) * 8, entry);
            }
            for (var e : gts.entrySet()) {
                ch.write(e.getValue(), (tablesAt + tableIndex.get(e.getKey()) * gtSectors) * 512);
            }
            long end = (grainsAt + Math.max(1, dataGrains) * grainSectors) * 512;
            if (ch.size() < end) {
                ch.write(ByteBuffer.allocate(1), end - 1);
            }
        }
    }

    /**
     * Writes a hosted sparse (KDMV) file with an embedded descriptor and any geometry: grains of
     * {@code grainSectors}, {@code gtes} entries per grain table, optionally a redundant directory and
     * zeroed-grain GTEs (Zero grains need {@code zeroGrains}), optionally streamOptimized-style
     * compressed grains behind markers (version 3).
     */
    static void hostedSparse(Path out, long capacitySectors, int grainSectors, int gtes, Map<Long, Grain> grains,
            boolean redundant, boolean zeroGrains, boolean compressed) throws IOException {
        long span = (long) grainSectors * gtes;
        int gdEntries = (int) ((capacitySectors + span - 1) / span);
        long gdSectors = (gdEntries * 4L + 511) / 512;
        long gtSectors = (gtes * 4L + 511) / 512;
        String desc = descriptor(compressed ? "streamOptimized" : "monolithicSparse", 0x1badd00dL,
                Descriptor.NO_PARENT, null, "RW " + capacitySectors + " SPARSE \"" + out.getFileName() + "\"");
        byte[] descBytes = desc.getBytes(StandardCharsets.UTF_8);
        long descSectors = (descBytes.length + 511) / 512;
        long next = 1 + descSectors;
        long rgdAt = 0;
        long[] rgts = new long[gdEntries];
        if (redundant) {
            rgdAt = next;
            next += gdSectors;
            for (int i = 0; i < gdEntries; i++) {
                rgts[i] = next;
                next += gtSectors;
            }
        }
        long gdAt = next;
        next += gdSectors;
        long[] gts = new long[gdEntries];
        for (int i = 0; i < gdEntries; i++) {
            gts[i] = next;
            next += gtSectors;
        }
        long overhead = next;
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer[] tables = new ByteBuffer[gdEntries];
            for (int i = 0; i < gdEntries; i++) {
                tables[i] = le((int) (gtSectors * 512));
            }
            java.util.zip.Deflater deflater = new java.util.zip.Deflater();
            for (var e : new TreeMap<>(grains).entrySet()) {
                long g = e.getKey();
                int value;
                if (e.getValue() instanceof Data d) {
                    value = (int) next;
                    if (compressed) {
                        deflater.reset();
                        deflater.setInput(d.bytes());
                        deflater.finish();
                        byte[] buf = new byte[d.bytes().length * 2 + 64];
                        int n = deflater.deflate(buf);
                        ByteBuffer m = le((int) ((12L + n + 511) / 512 * 512));
                        m.putLong(0, g * grainSectors).putInt(8, n).put(12, buf, 0, n);
                        ch.write(m, next * 512);
                        next += m.capacity() / 512;
                    } else {
                        ch.write(ByteBuffer.wrap(d.bytes()), next * 512);
                        next += grainSectors;
                    }
                } else {
                    value = 1;
                }
                tables[(int) (g / gtes)].putInt((int) (g % gtes) * 4, value);
            }
            ByteBuffer gd = le((int) (gdSectors * 512));
            ByteBuffer rgd = le((int) (gdSectors * 512));
            for (int i = 0; i < gdEntries; i++) {
                gd.putInt(i * 4, (int) gts[i]);
                rgd.putInt(i * 4, (int) rgts[i]);
                ch.write(tables[i].duplicate().clear(), gts[i] * 512);
                if (redundant) {
                    ch.write(tables[i].duplicate().clear(), rgts[i] * 512);
                }
            }
            ch.write(gd, gdAt * 512);
            if (redundant) {
                ch.write(rgd, rgdAt * 512);
            }
            ch.write(ByteBuffer.wrap(descBytes), 512);
            ByteBuffer h = le(512);
            h.putInt(0x00, 0x564d444b);
            h.putInt(0x04, compressed ? 3 : zeroGrains ? 2 : 1);
            h.putInt(0x08, 1 | (redundant ? 2 : 0) | (zeroGrains ? 4 : 0) | (compressed ? (1 << 16) | (1 << 17) : 0));
            h.putLong(0x0C, capacitySectors);
            h.putLong(0x14, grainSectors);
            h.putLong(0x1C, 1);
            h.putLong(0x24, descSectors);
            h.putInt(0x2C, gtes);
            h.putLong(0x30, rgdAt);
            h.putLong(0x38, gdAt);
            h.putLong(0x40, overhead);
            h.put(0x49, (byte) '\n').put(0x4A, (byte) ' ').put(0x4B, (byte) '\r').put(0x4C, (byte) '\n');
            h.putShort(0x4D, (short) (compressed ? 1 : 0));
            ch.write(h, 0);
            if (compressed) {
                ch.write(le(512), next * 512); // end-of-stream marker
                next++;
            }
            if (ch.size() < next * 512) {
                ch.write(ByteBuffer.allocate(1), next * 512 - 1);
            }
        }
    }

    static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
