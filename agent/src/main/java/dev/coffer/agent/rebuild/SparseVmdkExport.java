package dev.coffer.agent.rebuild;

import dev.coffer.dedup.Destination;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.BitSet;

/**
 * Writes a backed-up disk as a monolithicSparse VMDK (one hosted sparse extent, the format ESXi's
 * {@code vmkfstools} and VMware Workstation use for a single-file growable disk), front to back from
 * its {@link DiskLayout}, so the output may be a pipe.
 *
 * <p>Follows VMware's "Virtual Disk Format 5.0", hosted sparse extents (as qemu's {@code
 * block/vmdk.c} also reads them): a version-1 header at sector 0 (magic {@code KDMV}, flags valid
 * newline test + redundant grain table, 64 KiB grains, 512 grain table entries per table), the
 * embedded descriptor at sector 1, the redundant grain directory and its grain tables, the grain
 * directory and its grain tables, padding to the first grain boundary ({@code overHead}), then the
 * allocated grains uncompressed, in disk order. A grain is allocated when some span of the layout
 * touches it; the tables can therefore be written before any grain, since every grain's place is its
 * rank among the allocated ones.
 *
 * <p>Its header and descriptor are {@link VmdkHeaders}', shared with {@code DiskExport}'s
 * streamOptimized writer.
 */
public final class SparseVmdkExport {
    private static final int SECTOR = VmdkHeaders.SECTOR;
    private static final long GRAIN_SECTORS = VmdkHeaders.GRAIN_SECTORS;
    private static final int GRAIN = (int) (GRAIN_SECTORS * SECTOR);
    private static final int GTES_PER_GT = VmdkHeaders.GTES_PER_GT;
    /** Flags: bit 0 valid newline test, bit 1 redundant grain table present. */
    private static final int FLAGS = 0x1 | 0x2;
    /**
     * Largest disk written: 2^31 grains (128 TiB), the most a BitSet of grains holds; grain table
     * entries are 32-bit sector numbers, which the writer also checks.
     */
    static final long MAX_GRAINS = Integer.MAX_VALUE;

    private final DiskLayout layout;
    private final DiskBytes bytes;
    private long written;

    /** A writer of {@code layout}'s disk, reading its blocks from {@code destination}. */
    public SparseVmdkExport(Destination destination, DiskLayout layout) {
        this.layout = layout;
        this.bytes = new DiskBytes(destination, layout);
    }

    /** Bytes written so far. */
    public long written() {
        return written;
    }

    /** Writes the disk as a monolithicSparse VMDK named {@code name} in its descriptor; returns the grains written. */
    public long write(OutputStream out, String name) throws IOException {
        long capacitySectors = (layout.capacity() + SECTOR - 1) / SECTOR;
        long grains = (capacitySectors + GRAIN_SECTORS - 1) / GRAIN_SECTORS;
        if (grains > MAX_GRAINS) {
            throw new IOException("disk of " + layout.capacity() + " bytes is larger than a sparse VMDK written here ("
                    + MAX_GRAINS + " grains)");
        }
        BitSet allocated = new BitSet((int) grains);
        for (DiskLayout.Span s : layout.spans()) {
            if (s.length() <= 0) {
                continue;
            }
            long first = s.diskOffset() / GRAIN;
            long last = Math.min(grains - 1, (s.diskOffset() + s.length() - 1) / GRAIN);
            if (first <= last) {
                allocated.set((int) first, (int) last + 1);
            }
        }
        long gtCount = (grains + GTES_PER_GT - 1) / GTES_PER_GT;
        long gtSectors = GTES_PER_GT * 4L / SECTOR;                 // 4 sectors per table
        long gdSectors = (gtCount * 4 + SECTOR - 1) / SECTOR;
        byte[] descriptor = VmdkHeaders.descriptor("monolithicSparse", capacitySectors, name, "");
        long descriptorSectors = (descriptor.length + SECTOR - 1) / SECTOR;
        long rgdOffset = 1 + descriptorSectors;
        long rgtStart = rgdOffset + gdSectors;
        long gdOffset = rgtStart + gtCount * gtSectors;
        long gtStart = gdOffset + gdSectors;
        long overhead = roundUp(gtStart + gtCount * gtSectors, GRAIN_SECTORS);
        long lastSector = overhead + allocated.cardinality() * GRAIN_SECTORS;
        if (lastSector > 0xFFFFFFFFL) {
            throw new IOException("sparse VMDK of " + lastSector + " sectors: grain table entries are 32-bit");
        }
        write(out, VmdkHeaders.header(1, FLAGS, capacitySectors, descriptorSectors, rgdOffset, gdOffset, overhead, 0));
        write(out, Arrays.copyOf(descriptor, (int) (descriptorSectors * SECTOR)));
        for (long dirAt : new long[] {rgtStart, gtStart}) {
            writeDirectory(out, gtCount, gdSectors, dirAt, gtSectors);
            writeTables(out, grains, gtCount, allocated, overhead);
        }
        write(out, new byte[(int) ((overhead - (gtStart + gtCount * gtSectors)) * SECTOR)]);
        byte[] grain = new byte[GRAIN];
        long count = 0;
        for (int g = allocated.nextSetBit(0); g >= 0; g = allocated.nextSetBit(g + 1)) {
            long at = (long) g * GRAIN;
            bytes.fill(grain, at, (int) Math.min(GRAIN, layout.capacity() - at));
            write(out, grain);
            count++;
        }
        out.flush();
        return count;
    }

    private void writeDirectory(OutputStream out, long gtCount, long gdSectors, long firstTable, long gtSectors)
            throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) (gdSectors * SECTOR)).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < gtCount; i++) {
            b.putInt((int) (firstTable + i * gtSectors));
        }
        write(out, b.array());
    }

    /** Every grain table, in order: entry = the grain's sector, its rank among allocated grains after the overhead. */
    private void writeTables(OutputStream out, long grains, long gtCount, BitSet allocated, long overhead)
            throws IOException {
        ByteBuffer t = ByteBuffer.allocate(GTES_PER_GT * 4).order(ByteOrder.LITTLE_ENDIAN);
        long rank = 0;
        for (long table = 0; table < gtCount; table++) {
            t.clear();
            for (int e = 0; e < GTES_PER_GT; e++) {
                long g = table * GTES_PER_GT + e;
                if (g < grains && allocated.get((int) g)) {
                    t.putInt((int) (overhead + rank * GRAIN_SECTORS));
                    rank++;
                } else {
                    t.putInt(0);
                }
            }
            write(out, t.array());
        }
    }

    private void write(OutputStream out, byte[] b) throws IOException {
        out.write(b);
        written += b.length;
    }

    private static long roundUp(long v, long to) {
        return (v + to - 1) / to * to;
    }
}
