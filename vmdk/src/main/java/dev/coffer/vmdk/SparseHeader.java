package dev.coffer.vmdk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * The hosted sparse extent header ("KDMV"), 512 bytes at the start of the file (and, for
 * streamOptimized disks written with {@code gdOffset = GD_AT_END}, again in the footer).
 *
 * <p>Sources: VMware "Virtual Disk Format 5.0", "Hosted Sparse Extent Header" and "Stream-Optimized
 * Compressed Sparse Extents"; field facts cross-checked with qemu's reader (read, not copied).
 *
 * @param version          1 (plain), 2 (zeroed-grain GTEs), 3 (streamOptimized / CBT)
 * @param flags            bit 0 newline test valid, bit 1 redundant GD, bit 2 zeroed-grain GTEs,
 *                         bit 16 compressed grains, bit 17 markers
 * @param capacitySectors  extent capacity in sectors
 * @param grainSectors     grain size in sectors
 * @param descriptorSector embedded descriptor start, in sectors (0: none)
 * @param descriptorSectors embedded descriptor length, in sectors
 * @param gtesPerGt        grain table entries per grain table (512)
 * @param rgdSector        redundant grain directory, in sectors
 * @param gdSector         grain directory, in sectors ({@link #GD_AT_END}: read the footer)
 * @param overheadSectors  sectors of metadata before the first grain
 * @param compressAlgorithm 0 none, 1 deflate
 */
record SparseHeader(int version, int flags, long capacitySectors, long grainSectors, long descriptorSector,
        long descriptorSectors, int gtesPerGt, long rgdSector, long gdSector, long overheadSectors,
        int compressAlgorithm) {
    /** "KDMV" read as a little-endian int. */
    static final int MAGIC = 0x564d444b;
    static final int SIZE = 512;
    static final long GD_AT_END = 0xffffffffffffffffL;
    static final int FLAG_RGD = 1 << 1;
    static final int FLAG_ZERO_GRAIN = 1 << 2;
    static final int FLAG_COMPRESSED = 1 << 16;
    static final int FLAG_MARKERS = 1 << 17;
    static final int COMPRESS_DEFLATE = 1;

    private static final int OFF_MAGIC = 0x00;
    private static final int OFF_VERSION = 0x04;
    private static final int OFF_FLAGS = 0x08;
    private static final int OFF_CAPACITY = 0x0C;
    private static final int OFF_GRAIN = 0x14;
    private static final int OFF_DESC_OFFSET = 0x1C;
    private static final int OFF_DESC_SIZE = 0x24;
    private static final int OFF_GTES = 0x2C;
    private static final int OFF_RGD = 0x30;
    private static final int OFF_GD = 0x38;
    private static final int OFF_OVERHEAD = 0x40;
    private static final int OFF_COMPRESS = 0x4D;

    /** Decodes and validates a header read from {@code file} at {@code at} (0, or the footer's offset). */
    static SparseHeader parse(ByteBuffer raw, Path file, long at) throws VmdkException {
        ByteBuffer b = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 0x50) {
            throw new CorruptImageException(Descriptor.where(file, at) + ": sparse header needs 80 bytes, found "
                    + b.remaining());
        }
        int magic = b.getInt(OFF_MAGIC);
        if (magic != MAGIC) {
            throw new CorruptImageException(Descriptor.where(file, at) + ": sparse header magic, expected 0x"
                    + Integer.toHexString(MAGIC) + " (KDMV), found 0x" + Integer.toHexString(magic));
        }
        int version = b.getInt(OFF_VERSION);
        if (version < 1 || version > 3) {
            throw new UnsupportedImageException(Descriptor.where(file, at + OFF_VERSION)
                    + ": sparse extent version " + Integer.toUnsignedString(version) + ", expected 1..3");
        }
        int flags = b.getInt(OFF_FLAGS);
        long capacity = b.getLong(OFF_CAPACITY);
        long grain = b.getLong(OFF_GRAIN);
        long descOff = b.getLong(OFF_DESC_OFFSET);
        long descSize = b.getLong(OFF_DESC_SIZE);
        int gtes = b.getInt(OFF_GTES);
        long rgd = b.getLong(OFF_RGD);
        long gd = b.getLong(OFF_GD);
        long overhead = b.getLong(OFF_OVERHEAD);
        int compress = Short.toUnsignedInt(b.getShort(OFF_COMPRESS));
        if (Long.compareUnsigned(capacity, Limits.MAX_CAPACITY / Limits.SECTOR) > 0) {
            throw new LimitExceededImageException(Descriptor.where(file, at + OFF_CAPACITY) + ": capacity "
                    + Long.toUnsignedString(capacity) + " sectors, limit " + Limits.MAX_CAPACITY / Limits.SECTOR);
        }
        if (grain < 1 || grain > Limits.MAX_GRAIN_SECTORS) {
            throw new CorruptImageException(Descriptor.where(file, at + OFF_GRAIN) + ": grain size "
                    + Long.toUnsignedString(grain) + " sectors, expected 1.." + Limits.MAX_GRAIN_SECTORS);
        }
        if (gtes < 1 || gtes > Limits.MAX_GTES_PER_GT) {
            throw new CorruptImageException(Descriptor.where(file, at + OFF_GTES) + ": numGTEsPerGT "
                    + Integer.toUnsignedString(gtes) + ", expected 1.." + Limits.MAX_GTES_PER_GT);
        }
        if (compress > COMPRESS_DEFLATE) {
            throw new UnsupportedImageException(Descriptor.where(file, at + OFF_COMPRESS)
                    + ": compressAlgorithm " + compress + ", expected 0 (none) or 1 (deflate)");
        }
        if (Long.compareUnsigned(descOff, Limits.MAX_CAPACITY) > 0
                || Long.compareUnsigned(descSize, Limits.MAX_DESCRIPTOR_BYTES / Limits.SECTOR) > 0) {
            throw new CorruptImageException(Descriptor.where(file, at + OFF_DESC_OFFSET)
                    + ": embedded descriptor at sector " + Long.toUnsignedString(descOff) + " of "
                    + Long.toUnsignedString(descSize) + " sectors, limit "
                    + Limits.MAX_DESCRIPTOR_BYTES / Limits.SECTOR + " sectors");
        }
        return new SparseHeader(version, flags, capacity, grain, descOff, descSize, gtes, rgd, gd, overhead, compress);
    }

    boolean compressed() {
        return compressAlgorithm == COMPRESS_DEFLATE || (flags & FLAG_COMPRESSED) != 0;
    }
}
