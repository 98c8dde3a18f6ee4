package dev.coffer.agent.rebuild;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The parts every hosted sparse VMDK starts with (VMware's "Virtual Disk Format 5.0"): the 512-byte
 * sparse extent header and the embedded descriptor, shared by the monolithicSparse and the
 * streamOptimized writers.
 */
final class VmdkHeaders {
    static final int SECTOR = 512;
    /** 64 KiB grains (128 sectors), what VMware and qemu write. */
    static final int GRAIN_SECTORS = 128;
    /** Grain table entries per table: 512, fixed by the format for hosted sparse extents. */
    static final int GTES_PER_GT = 512;
    private static final int MAGIC = 0x564d444b;

    private VmdkHeaders() {}

    /**
     * A sparse extent header.
     *
     * @param version 1 for monolithicSparse, 3 for streamOptimized
     * @param flags bit 0 valid newline test, bit 1 redundant grain table, bit 16 compressed, bit 17 markers
     * @param rgdOffset the redundant grain directory's sector, or 0
     * @param gdOffset the grain directory's sector (streamOptimized: all ones while it is still to come)
     * @param overhead sectors before the first grain
     * @param compression 0 none, 1 deflate
     */
    static byte[] header(int version, int flags, long capacitySectors, long descriptorSectors, long rgdOffset,
            long gdOffset, long overhead, int compression) {
        ByteBuffer h = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0x00, MAGIC);
        h.putInt(0x04, version);
        h.putInt(0x08, flags);
        h.putLong(0x0C, capacitySectors);
        h.putLong(0x14, GRAIN_SECTORS);
        h.putLong(0x1C, 1);                // descriptorOffset
        h.putLong(0x24, descriptorSectors);
        h.putInt(0x2C, GTES_PER_GT);
        h.putLong(0x30, rgdOffset);
        h.putLong(0x38, gdOffset);
        h.putLong(0x40, overhead);
        h.put(0x48, (byte) 0);             // uncleanShutdown
        h.put(0x49, (byte) '\n');
        h.put(0x4A, (byte) ' ');
        h.put(0x4B, (byte) '\r');
        h.put(0x4C, (byte) '\n');
        h.putShort(0x4D, (short) compression);
        return h.array();
    }

    /**
     * The embedded descriptor of a single-extent disk named {@code name} (quotes and line breaks dropped).
     *
     * @param extraDdb further {@code ddb.*} lines, each ending in a newline, or ""
     */
    static byte[] descriptor(String createType, long capacitySectors, String name, String extraDdb) {
        long cylinders = Math.min(65535, capacitySectors / (255 * 63));
        String cid = String.format(Locale.ROOT, "%08x", (int) (System.nanoTime() ^ capacitySectors));
        String text = "# Disk DescriptorFile\nversion=1\nCID=" + cid + "\nparentCID=ffffffff\n"
                + "createType=\"" + createType + "\"\n\n# Extent description\nRW " + capacitySectors + " SPARSE \""
                + name.replace("\"", "").replace("\n", "") + "\"\n\n# The Disk Data Base\n#DDB\n\n"
                + "ddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"" + cylinders + "\"\n"
                + "ddb.geometry.heads = \"255\"\nddb.geometry.sectors = \"63\"\nddb.adapterType = \"lsilogic\"\n"
                + extraDdb;
        return text.getBytes(StandardCharsets.US_ASCII);
    }
}
