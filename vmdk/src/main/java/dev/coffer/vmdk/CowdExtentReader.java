package dev.coffer.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads an ESXi vmfsSparse extent ("COWD", the redo-log format of ESX snapshots before seSparse).
 *
 * <p>Sources: VMware's COWDisk header layout as published with the VDDK/ESX vmfsSparse notes, and
 * qemu's reader for the fields it uses (read, not copied). Header (little-endian, 2048 bytes):
 * 0x00 magic "COWD", 0x04 version (1), 0x08 flags (3), 0x0C numSectors (capacity), 0x10 grainSize
 * (sectors), 0x14 gdOffset (sectors), 0x18 numGDEntries, 0x1C freeSector, then root geometry or the
 * child's parent name, generation, name, description. Grain tables hold 4096 u32 entries, each the
 * grain's sector in the file or 0 when unallocated; there is no zeroed-grain value.
 */
final class CowdExtentReader extends GrainedExtentReader {
    /** "COWD" read as a little-endian int. */
    static final int MAGIC = 0x44574f43;
    private static final int OFF_VERSION = 0x04;
    private static final int OFF_NUM_SECTORS = 0x0C;
    private static final int OFF_GRAIN = 0x10;
    private static final int OFF_GD = 0x14;
    private static final int OFF_GD_ENTRIES = 0x18;
    private static final int HEADER_READ = 0x20;

    private final long[] gd;
    private final long gdAt;
    private final int version;

    private CowdExtentReader(FileSource file, long sizeBytes, long grainBytes, long[] gd, long gdAt, int version) {
        super(file, sizeBytes, grainBytes, Limits.COWD_GTES_PER_GT, false, false);
        this.gd = gd;
        this.gdAt = gdAt;
        this.version = version;
    }

    /** Opens the COWD extent in {@code file} (which this reader then owns). */
    static CowdExtentReader open(FileSource file) throws IOException {
        if (file.size() < HEADER_READ) {
            throw new CorruptImageException(file.path() + " at 0x0: COWD header needs " + HEADER_READ
                    + " bytes, file has " + file.size());
        }
        ByteBuffer b = file.readBuffer(0, HEADER_READ).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0) != MAGIC) {
            throw new CorruptImageException(file.path() + " at 0x0: COWD magic expected, found 0x"
                    + Integer.toHexString(b.getInt(0)));
        }
        int version = b.getInt(OFF_VERSION);
        if (version != 1) {
            throw new UnsupportedImageException(Descriptor.where(file.path(), OFF_VERSION) + ": COWD version "
                    + Integer.toUnsignedString(version) + ", expected 1");
        }
        long sectors = Integer.toUnsignedLong(b.getInt(OFF_NUM_SECTORS));
        long grain = Integer.toUnsignedLong(b.getInt(OFF_GRAIN));
        long gdSector = Integer.toUnsignedLong(b.getInt(OFF_GD));
        long gdEntries = Integer.toUnsignedLong(b.getInt(OFF_GD_ENTRIES));
        if (grain < 1 || grain > Limits.MAX_GRAIN_SECTORS) {
            throw new CorruptImageException(Descriptor.where(file.path(), OFF_GRAIN) + ": grain size " + grain
                    + " sectors, expected 1.." + Limits.MAX_GRAIN_SECTORS);
        }
        long span = grain * Limits.COWD_GTES_PER_GT;
        long needed = (sectors + span - 1) / span;
        if (gdEntries < needed) {
            throw new CorruptImageException(Descriptor.where(file.path(), OFF_GD_ENTRIES) + ": numGDEntries "
                    + gdEntries + ", capacity of " + sectors + " sectors needs " + needed);
        }
        if (gdEntries > Limits.MAX_GD_ENTRIES) {
            throw new LimitExceededImageException(Descriptor.where(file.path(), OFF_GD_ENTRIES)
                    + ": numGDEntries " + gdEntries + ", limit " + Limits.MAX_GD_ENTRIES);
        }
        if (gdSector == 0 || gdSector > file.size() / Limits.SECTOR) {
            throw new CorruptImageException(Descriptor.where(file.path(), OFF_GD) + ": gdOffset sector "
                    + gdSector + " outside the file");
        }
        CowdExtentReader probe = new CowdExtentReader(file, sectors * Limits.SECTOR, grain * Limits.SECTOR,
                null, 0, version);
        long gdAt = gdSector * Limits.SECTOR;
        ByteBuffer d = probe.readTable(gdAt, needed, 4, "grain directory");
        long[] gd = new long[(int) needed];
        long tableBytes = 4L * Limits.COWD_GTES_PER_GT;
        for (int i = 0; i < gd.length; i++) {
            long s = Integer.toUnsignedLong(d.getInt(4 * i));
            if (s != 0 && s * Limits.SECTOR > file.size() - tableBytes) {
                throw new CorruptImageException(Descriptor.where(file.path(), gdAt + 4L * i)
                        + ": grain directory entry " + i + " points to sector " + s
                        + ", the grain table would end past the file");
            }
            gd[i] = s * Limits.SECTOR;
        }
        return new CowdExtentReader(file, sectors * Limits.SECTOR, grain * Limits.SECTOR, gd, gdAt, version);
    }

    @Override
    long[] loadTable(long gdIndex) throws IOException {
        long at = gd[(int) gdIndex];
        if (at == 0) {
            return null;
        }
        ByteBuffer b = readTable(at, gtEntries, 4, "grain table");
        long[] loc = new long[gtEntries];
        long first = gdIndex * gtEntries;
        long grains = grainCount();
        for (int j = 0; j < gtEntries && first + j < grains; j++) {
            long s = Integer.toUnsignedLong(b.getInt(4 * j));
            if (s != 0) {
                loc[j] = checkGrain(first + j, s * Limits.SECTOR, at + 4L * j);
            }
        }
        return loc;
    }

    @Override
    public String describe() {
        return "vmfsSparse (COWD v" + version + "), grain " + grainBytes + " B, " + gd.length
                + " grain tables of 4096 entries, GD at 0x" + Long.toHexString(gdAt);
    }
}
