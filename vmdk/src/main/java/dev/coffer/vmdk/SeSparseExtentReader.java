package dev.coffer.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads an ESXi seSparse extent (space-efficient sparse, the snapshot format of VMFS 6 and of disks
 * over 2 TiB).
 *
 * <p>Sources: the format is not published by VMware; facts follow qemu's reader (read, not copied)
 * and its strict checks. Constant header (sector 0, u64 fields): 0x00 magic 0xcafebabe, 0x08 version
 * 0x200000001, 0x10 capacity (sectors), 0x18 grain size (sectors, 8), 0x20 grain table size (sectors,
 * 64: 4096 entries), 0x28 flags (0), 0x30..0x48 reserved (0), 0x50/0x58 volatile header offset/size,
 * 0x60..0x78 journal header and journal, 0x80/0x88 grain directory offset/size, 0x90/0x98 grain tables,
 * 0xA0/0xA8 free bitmap, 0xB0/0xB8 backmap, 0xC0/0xC8 grains; the rest of the sector is zero.
 * Volatile header: 0x00 magic 0xcafecafe, 0x08 free GT number, 0x10 next txn sequence, 0x18 replay
 * journal (must be 0: a dirty journal is refused). Grain directory entries (u64): 0 no table, else
 * 0x1000_0000_xxxx_xxxx with xxxx the table's index among the grain tables. Grain table entries
 * (u64): top nibble 0 unallocated (whole entry 0), 1 unmapped, 2 zero, 3 allocated with the grain
 * index made of bits 48..59 (low part) and bits 0..47 (high part, shifted by 12).
 */
final class SeSparseExtentReader extends GrainedExtentReader {
    static final long MAGIC = 0xcafebabeL;
    static final long VOLATILE_MAGIC = 0xcafecafeL;
    static final long VERSION = 0x0000000200000001L;

    private final long[] gd;
    private final long gdAt;
    private final long tablesAt;
    private final long tableCount;
    private final long grainsAt;

    private SeSparseExtentReader(FileSource file, long size, long grainBytes, int gtEntries, long[] gd, long gdAt,
            long tablesAt, long tableCount, long grainsAt) {
        super(file, size, grainBytes, gtEntries, false, false);
        this.gd = gd;
        this.gdAt = gdAt;
        this.tablesAt = tablesAt;
        this.tableCount = tableCount;
        this.grainsAt = grainsAt;
    }

    /** Opens the seSparse extent in {@code file} (which this reader then owns). */
    static SeSparseExtentReader open(FileSource file) throws IOException {
        if (file.size() < Limits.SECTOR) {
            throw new CorruptImageException(file.path() + " at 0x0: seSparse header needs 512 bytes, file has "
                    + file.size());
        }
        ByteBuffer h = file.readBuffer(0, Limits.SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        expect(file, h, 0x00, MAGIC, "const header magic");
        if (h.getLong(0x08) != VERSION) {
            throw new UnsupportedImageException(Descriptor.where(file.path(), 0x08) + ": seSparse version 0x"
                    + Long.toHexString(h.getLong(0x08)) + ", expected 0x" + Long.toHexString(VERSION));
        }
        long capacity = h.getLong(0x10);
        long grain = h.getLong(0x18);
        long gtSectors = h.getLong(0x20);
        expect(file, h, 0x28, 0, "flags");
        for (int off = 0x30; off <= 0x48; off += 8) {
            expect(file, h, off, 0, "reserved field");
        }
        for (int off = 0xD0; off < Limits.SECTOR; off += 8) {
            expect(file, h, off, 0, "header padding");
        }
        if (capacity < 0 || capacity > Limits.MAX_CAPACITY / Limits.SECTOR) {
            throw new LimitExceededImageException(Descriptor.where(file.path(), 0x10) + ": capacity "
                    + Long.toUnsignedString(capacity) + " sectors, limit " + Limits.MAX_CAPACITY / Limits.SECTOR);
        }
        if (grain < 1 || grain > Limits.MAX_GRAIN_SECTORS) {
            throw new CorruptImageException(Descriptor.where(file.path(), 0x18) + ": grain size "
                    + Long.toUnsignedString(grain) + " sectors, expected 1.." + Limits.MAX_GRAIN_SECTORS);
        }
        // 64 sectors (4096 entries) is what VMware writes and qemu accepts; allow 1..64 for the same math
        if (gtSectors < 1 || gtSectors > 64) {
            throw new UnsupportedImageException(Descriptor.where(file.path(), 0x20) + ": grain table size "
                    + Long.toUnsignedString(gtSectors) + " sectors, expected 1..64");
        }
        int gtEntries = (int) (gtSectors * Limits.SECTOR / 8);
        long volAt = region(file, h, 0x50, 1, "volatile header");
        ByteBuffer v = file.readBuffer(volAt, Limits.SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        if (v.getLong(0) != VOLATILE_MAGIC) {
            throw new CorruptImageException(Descriptor.where(file.path(), volAt) + ": volatile header magic, expected 0x"
                    + Long.toHexString(VOLATILE_MAGIC) + ", found 0x" + Long.toHexString(v.getLong(0)));
        }
        if (v.getLong(0x18) != 0) {
            throw new UnsupportedImageException(Descriptor.where(file.path(), volAt + 0x18)
                    + ": seSparse journal needs replay (disk was not closed cleanly); open it in ESXi first");
        }
        long gdAt = region(file, h, 0x80, 1, "grain directory");
        long gdEntries = h.getLong(0x88) * Limits.SECTOR / 8;
        long tablesAt = region(file, h, 0x90, 0, "grain tables");
        long tableCount = h.getLong(0x98) / gtSectors;
        long grainsAt = region(file, h, 0xC0, 0, "grains");
        long span = grain * gtEntries;
        long needed = (capacity + span - 1) / span;
        if (gdEntries < needed) {
            throw new CorruptImageException(Descriptor.where(file.path(), 0x88) + ": grain directory of "
                    + gdEntries + " entries, capacity needs " + needed);
        }
        if (needed > Limits.MAX_GD_ENTRIES) {
            throw new LimitExceededImageException(Descriptor.where(file.path(), 0x10) + ": capacity needs "
                    + needed + " grain directory entries, limit " + Limits.MAX_GD_ENTRIES);
        }
        SeSparseExtentReader probe = new SeSparseExtentReader(file, capacity * Limits.SECTOR,
                grain * Limits.SECTOR, gtEntries, null, gdAt, tablesAt, tableCount, grainsAt);
        ByteBuffer d = probe.readTable(gdAt, needed, 8, "grain directory");
        long[] gd = new long[(int) needed];
        long tableBytes = gtSectors * Limits.SECTOR;
        for (int i = 0; i < gd.length; i++) {
            long e = d.getLong(8 * i);
            if (e == 0) {
                continue;
            }
            long idx = e & 0xffffffffL;
            if ((e >>> 32) != 0x10000000L || idx >= tableCount) {
                throw new CorruptImageException(Descriptor.where(file.path(), gdAt + 8L * i)
                        + ": grain directory entry " + i + ", expected 0 or 0x10000000 with a table index below "
                        + tableCount + ", found 0x" + Long.toHexString(e));
            }
            long at = tablesAt + idx * tableBytes;
            if (at > file.size() - tableBytes) {
                throw new CorruptImageException(Descriptor.where(file.path(), gdAt + 8L * i)
                        + ": grain table " + idx + " would end past the file");
            }
            gd[i] = at;
        }
        return new SeSparseExtentReader(file, capacity * Limits.SECTOR, grain * Limits.SECTOR, gtEntries, gd, gdAt,
                tablesAt, tableCount, grainsAt);
    }

    private static void expect(FileSource file, ByteBuffer h, int off, long want, String what)
            throws CorruptImageException {
        long got = h.getLong(off);
        if (got != want) {
            throw new CorruptImageException(Descriptor.where(file.path(), off) + ": seSparse " + what
                    + ", expected 0x" + Long.toHexString(want) + ", found 0x" + Long.toHexString(got));
        }
    }

    /** A header's (offset, size) sector pair as a byte offset inside the file. */
    private static long region(FileSource file, ByteBuffer h, int off, long minSectors, String what)
            throws CorruptImageException {
        long at = h.getLong(off);
        long len = h.getLong(off + 8);
        long fileSectors = file.size() / Limits.SECTOR;
        if (at <= 0 || at > fileSectors || len < minSectors || len > fileSectors
                || (minSectors > 0 && at + len > fileSectors)) {
            throw new CorruptImageException(Descriptor.where(file.path(), off) + ": " + what + " at sector "
                    + Long.toUnsignedString(at) + " of " + Long.toUnsignedString(len)
                    + " sectors, outside the file (" + fileSectors + " sectors)");
        }
        return at * Limits.SECTOR;
    }

    @Override
    long[] loadTable(long gdIndex) throws IOException {
        long at = gd[(int) gdIndex];
        if (at == 0) {
            return null;
        }
        ByteBuffer b = readTable(at, gtEntries, 8, "grain table");
        long[] loc = new long[gtEntries];
        long first = gdIndex * gtEntries;
        long grains = grainCount();
        for (int j = 0; j < gtEntries && first + j < grains; j++) {
            long e = b.getLong(8 * j);
            long entryAt = at + 8L * j;
            switch ((int) (e >>> 60)) {
                case 0 -> {
                    if (e != 0) {
                        throw new CorruptImageException(Descriptor.where(file.path(), entryAt)
                                + ": unallocated grain table entry must be 0, found 0x" + Long.toHexString(e));
                    }
                }
                case 1, 2 -> loc[j] = LOC_ZERO;
                case 3 -> {
                    long index = ((e & 0x0fff000000000000L) >>> 48) | ((e & 0x0000ffffffffffffL) << 12);
                    if (index > (file.size() / grainBytes)) {
                        throw new CorruptImageException(Descriptor.where(file.path(), entryAt)
                                + ": grain index " + index + " is past the end of the file");
                    }
                    loc[j] = checkGrain(first + j, grainsAt + index * grainBytes, entryAt);
                }
                default -> throw new CorruptImageException(Descriptor.where(file.path(), entryAt)
                        + ": grain table entry type " + (e >>> 60) + ", expected 0..3");
            }
        }
        return loc;
    }

    @Override
    public String describe() {
        return "seSparse, grain " + grainBytes + " B, " + gd.length + " grain tables of " + gtEntries
                + " entries, GD at 0x" + Long.toHexString(gdAt) + ", tables at 0x" + Long.toHexString(tablesAt)
                + ", grains at 0x" + Long.toHexString(grainsAt);
    }
}
