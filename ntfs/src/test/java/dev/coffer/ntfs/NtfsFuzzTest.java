package dev.coffer.ntfs;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.util.Arrays;

/**
 * Fuzz targets for the parsers that see untrusted bytes: MFT records (with attribute decoding and
 * file assembly), run lists, the directory index walk (root node plus index blocks, loops and
 * bitmap included) and LZNT1. In a normal build each runs once per seed under
 * {@code src/test/resources/dev/coffer/ntfs/NtfsFuzzTestInputs/<method>/} (seeds cut from the
 * ntfs-rich fixture); {@code JAZZER_FUZZ=1 mvn -pl ntfs test -Dtest=NtfsFuzzTest} fuzzes for real.
 * The only acceptable failure is a typed {@link NtfsException} with a message.
 */
class NtfsFuzzTest {
    private static final int RECORD = 1024;
    private static final long CLUSTERS = 1 << 20;

    @FuzzTest(maxDuration = "60s")
    void mftRecord(byte[] data) throws IOException {
        byte[] rec = Arrays.copyOf(data, RECORD);
        try {
            MftRecord r = MftRecord.parse(rec, 0, RECORD, Le.u32(rec, 0x2C), 0, CLUSTERS);
            NtfsVolume.class.getName();
            for (Attribute a : r.attributes) {
                if (a.type == Attribute.FILE_NAME && !a.nonResident) {
                    FileName.parse(a.value, 0, a.value.length, "fuzz");
                } else if (a.type == Attribute.STANDARD_INFORMATION && !a.nonResident) {
                    StandardInformation.parse(a.value, "fuzz");
                } else if (a.type == Attribute.REPARSE_POINT && !a.nonResident) {
                    ReparsePoint.parse(a.value, "fuzz");
                } else if (a.type == Attribute.ATTRIBUTE_LIST && !a.nonResident) {
                    AttrListEntry.parseAll(a.value, "fuzz");
                }
                NtfsVolume.merge(java.util.List.of(a), "fuzz", false);
            }
        } catch (NtfsException expected) {
            requireMessage(expected);
        }
    }

    @FuzzTest(maxDuration = "60s")
    void runList(byte[] data) {
        if (data.length < 2) {
            return;
        }
        long lastVcn = (data[0] & 0xFF) * 64L + (data[1] & 0xFF);
        try {
            long covered = 0;
            for (Run r : RunList.decode(data, 2, data.length, 0, lastVcn, CLUSTERS, "fuzz")) {
                if (r.clusterCount() <= 0 || (!r.sparse() && (r.lcn() < 0 || r.lcn() + r.clusterCount() > CLUSTERS))) {
                    throw new AssertionError("bad run " + r);
                }
                covered += r.clusterCount();
            }
            if (covered != lastVcn + 1) {
                throw new AssertionError("runs cover " + covered + " clusters, expected " + (lastVcn + 1));
            }
        } catch (CorruptNtfsException expected) {
            requireMessage(expected);
        }
    }

    /** Input: 4 KiB index root value (node header at 0x10), then 4 KiB index blocks; bitmap all ones. */
    @FuzzTest(maxDuration = "60s")
    void index(byte[] data) throws IOException {
        int block = 4096;
        byte[] root = Arrays.copyOf(data, Math.min(data.length, 1024));
        byte[] rest = data.length > 1024 ? Arrays.copyOfRange(data, 1024, data.length) : new byte[0];
        int blocks = rest.length / block;
        NtfsVolume.IndexWalk w = new NtfsVolume.IndexWalk("fuzz", block, 4096, e -> requireMessage(e));
        if (blocks > 0) {
            w.allocSize = (long) blocks * block;
            w.bitmap = new byte[(blocks + 7) / 8];
            Arrays.fill(w.bitmap, (byte) 0xFF);
            w.blocks = (off, dst) -> {
                System.arraycopy(rest, (int) off, dst, 0, dst.length);
                return off;
            };
        }
        try {
            if (root.length >= 0x20) {
                w.node(root, 0x10, root.length, 0, "$INDEX_ROOT");
            }
        } catch (NtfsException expected) {
            requireMessage(expected);
        }
        if (w.out.size() > (data.length / 0x10) + 1) {
            throw new AssertionError("more entries than bytes allow: " + w.out.size());
        }
    }

    @FuzzTest(maxDuration = "60s")
    void lznt1(byte[] data) {
        byte[] out = new byte[65536];
        try {
            Lznt1.decompress(data, 0, data.length, out, 0, out.length, "fuzz");
        } catch (CorruptNtfsException expected) {
            requireMessage(expected);
        }
    }

    private static void requireMessage(NtfsException e) {
        if (e.getMessage() == null || !e.getMessage().startsWith("fuzz") && !e.getMessage().startsWith("MFT record")) {
            throw new AssertionError("untyped or unplaced message: " + e.getMessage(), e);
        }
    }
}
