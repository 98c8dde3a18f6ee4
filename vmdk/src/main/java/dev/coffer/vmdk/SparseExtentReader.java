package dev.coffer.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads a hosted sparse extent (KDMV): monolithicSparse, the {@code -sNNN} extents of
 * twoGbMaxExtentSparse, and streamOptimized (deflate-compressed grains behind grain markers, the
 * grain directory possibly only in the footer, {@code GD_AT_END}).
 *
 * <p>Sources: VMware "Virtual Disk Format 5.0" (hosted sparse extents; stream-optimized compressed
 * sparse extents: markers, footer, end-of-stream). A grain table entry is the grain's sector, 0 for
 * an unallocated grain, and 1 for a zeroed grain when the header enables zeroed-grain GTEs. When the
 * header enables the redundant grain directory, a grain table that fails validation through the
 * primary directory is taken from the redundant one instead.
 */
final class SparseExtentReader extends GrainedExtentReader {
    /** Marker type of the footer (streamOptimized). */
    private static final int MARKER_FOOTER = 3;
    /** Marker type of end-of-stream. */
    private static final int MARKER_EOS = 0;

    private final SparseHeader header;
    private final long headerAt;
    private final long[] gd;
    private final long[] rgd;
    private final long gdAt;
    private final long rgdAt;

    private SparseExtentReader(FileSource file, SparseHeader h, long headerAt, long[] gd, long[] rgd, long gdAt,
            long rgdAt) {
        super(file, h.capacitySectors() * Limits.SECTOR, h.grainSectors() * Limits.SECTOR, h.gtesPerGt(),
                h.compressed(), (h.flags() & SparseHeader.FLAG_MARKERS) != 0);
        this.header = h;
        this.headerAt = headerAt;
        this.gd = gd;
        this.rgd = rgd;
        this.gdAt = gdAt;
        this.rgdAt = rgdAt;
    }

    /** The header at the start of the file (descriptor location, CID lookups). */
    static SparseHeader readHeader(FileSource file) throws IOException {
        if (file.size() < SparseHeader.SIZE) {
            throw new CorruptImageException(file.path() + " at 0x0: sparse header needs 512 bytes, file has "
                    + file.size());
        }
        return SparseHeader.parse(file.readBuffer(0, SparseHeader.SIZE), file.path(), 0);
    }

    /** Opens the sparse extent in {@code file} (which this reader then owns). */
    static SparseExtentReader open(FileSource file) throws IOException {
        SparseHeader h = readHeader(file);
        long headerAt = 0;
        if (h.gdSector() == SparseHeader.GD_AT_END) {
            // streamOptimized: footer marker, footer header, end-of-stream marker in the last 3 sectors
            long end = file.size();
            if (end < 4L * Limits.SECTOR) {
                throw new CorruptImageException(file.path() + " at 0x0: grain directory is at the end but the file"
                        + " has only " + end + " bytes for the footer");
            }
            ByteBuffer tail = file.readBuffer(end - 3L * Limits.SECTOR, 3 * Limits.SECTOR);
            long fm = end - 3L * Limits.SECTOR;
            if (tail.getInt(0x0C) != MARKER_FOOTER || tail.getInt(0x08) != 0) {
                throw new CorruptImageException(Descriptor.where(file.path(), fm)
                        + ": footer marker expected (type 3, size 0), found type " + tail.getInt(0x0C)
                        + " size " + tail.getInt(0x08));
            }
            if (tail.getLong(2 * Limits.SECTOR) != 0 || tail.getInt(2 * Limits.SECTOR + 0x08) != 0
                    || tail.getInt(2 * Limits.SECTOR + 0x0C) != MARKER_EOS) {
                throw new CorruptImageException(Descriptor.where(file.path(), end - Limits.SECTOR)
                        + ": end-of-stream marker expected after the footer");
            }
            headerAt = end - 2L * Limits.SECTOR;
            SparseHeader footer = SparseHeader.parse(tail.position(Limits.SECTOR).limit(2 * Limits.SECTOR),
                    file.path(), headerAt);
            if (footer.gdSector() == SparseHeader.GD_AT_END) {
                throw new CorruptImageException(Descriptor.where(file.path(), headerAt + 0x38)
                        + ": footer's grain directory offset is GD_AT_END too");
            }
            if (footer.capacitySectors() != h.capacitySectors() || footer.grainSectors() != h.grainSectors()
                    || footer.gtesPerGt() != h.gtesPerGt()) {
                throw new CorruptImageException(Descriptor.where(file.path(), headerAt)
                        + ": footer disagrees with the header on capacity, grain size or numGTEsPerGT");
            }
            h = footer;
        }
        long grainBytes = h.grainSectors() * Limits.SECTOR;
        long span = grainBytes * h.gtesPerGt();
        long capacity = h.capacitySectors() * Limits.SECTOR;
        long entries = (capacity + span - 1) / span;
        if (entries > Limits.MAX_GD_ENTRIES) {
            throw new LimitExceededImageException(Descriptor.where(file.path(), headerAt + 0x0C)
                    + ": capacity needs " + entries + " grain directory entries, limit " + Limits.MAX_GD_ENTRIES);
        }
        SparseExtentReader probe = new SparseExtentReader(file, h, headerAt, null, null, 0, 0);
        long[] rgd = null;
        long rgdAt = 0;
        CorruptImageException rgdError = null;
        if ((h.flags() & SparseHeader.FLAG_RGD) != 0 && h.rgdSector() != 0) {
            try {
                rgdAt = sectorsToBytes(file, h.rgdSector(), headerAt + 0x30, "redundant grain directory");
                rgd = probe.readDirectory(rgdAt, entries, "redundant grain directory");
            } catch (CorruptImageException e) {
                rgdError = e; // a damaged spare only loses the fallback while the primary is intact
            }
        }
        long gdAt;
        long[] gd;
        try {
            gdAt = sectorsToBytes(file, h.gdSector(), headerAt + 0x38, "grain directory");
            gd = probe.readDirectory(gdAt, entries, "grain directory");
        } catch (CorruptImageException e) {
            if (rgd == null) {
                if (rgdError != null) {
                    e.addSuppressed(rgdError);
                }
                throw e;
            }
            // the primary directory is damaged: the redundant one is a full copy (its own tables)
            gdAt = rgdAt;
            gd = rgd;
            rgd = null;
        }
        return new SparseExtentReader(file, h, headerAt, gd, rgd, gdAt, rgdAt);
    }

    private static long sectorsToBytes(FileSource file, long sectors, long fieldAt, String what)
            throws CorruptImageException {
        if (sectors <= 0 || sectors > file.size() / Limits.SECTOR) {
            throw new CorruptImageException(Descriptor.where(file.path(), fieldAt) + ": " + what + " at sector "
                    + Long.toUnsignedString(sectors) + ", outside the file (" + file.size() / Limits.SECTOR
                    + " sectors)");
        }
        return sectors * Limits.SECTOR;
    }

    /** Reads a directory: each entry becomes a grain table byte offset (0: no table), checked to fit in the file. */
    private long[] readDirectory(long at, long entries, String what) throws IOException {
        ByteBuffer b = readTable(at, entries, 4, what);
        long[] out = new long[(int) entries];
        long tableBytes = 4L * gtEntries;
        for (int i = 0; i < out.length; i++) {
            long sector = Integer.toUnsignedLong(b.getInt(i * 4));
            if (sector == 0) {
                continue;
            }
            long gt = sector * Limits.SECTOR;
            if (gt > file.size() - tableBytes) {
                throw new CorruptImageException(Descriptor.where(file.path(), at + 4L * i) + ": " + what + " entry "
                        + i + " points to sector " + sector + ", the grain table would end past the file (0x"
                        + Long.toHexString(file.size()) + " bytes)");
            }
            out[i] = gt;
        }
        return out;
    }

    @Override
    long[] loadTable(long gdIndex) throws IOException {
        int i = (int) gdIndex;
        try {
            return decodeTable(gdIndex, gd[i]);
        } catch (CorruptImageException e) {
            if (rgd != null && rgd[i] != 0 && rgd[i] != gd[i]) {
                try {
                    return decodeTable(gdIndex, rgd[i]);
                } catch (CorruptImageException ignored) {
                    throw e;
                }
            }
            throw e;
        }
    }

    private long[] decodeTable(long gdIndex, long at) throws IOException {
        if (at == 0) {
            return null;
        }
        ByteBuffer b = readTable(at, gtEntries, 4, "grain table");
        long[] loc = new long[gtEntries];
        boolean zeroGrain = (header.flags() & SparseHeader.FLAG_ZERO_GRAIN) != 0;
        long first = gdIndex * gtEntries;
        long grains = grainCount();
        for (int j = 0; j < gtEntries; j++) {
            long sector = Integer.toUnsignedLong(b.getInt(j * 4));
            long grain = first + j;
            if (sector == 0) {
                continue;
            }
            if (grain >= grains) {
                continue; // entries past the capacity are never read
            }
            if (sector == 1 && zeroGrain) {
                loc[j] = LOC_ZERO;
                continue;
            }
            loc[j] = checkGrain(grain, sector * Limits.SECTOR, at + 4L * j);
        }
        return loc;
    }

    SparseHeader header() {
        return header;
    }

    @Override
    public String describe() {
        return (compressed ? "streamOptimized" : "sparse") + " v" + header.version() + ", grain "
                + grainBytes + " B, " + gd.length + " grain tables of " + gtEntries + " entries, GD at 0x"
                + Long.toHexString(gdAt) + (rgd != null ? ", redundant GD at 0x" + Long.toHexString(rgdAt) : "")
                + (headerAt != 0 ? ", header from footer" : "");
    }

    static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
