package dev.coffer.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The part every grained format shares (hosted sparse, streamOptimized, COWD, seSparse): a grain
 * directory of grain tables, each grain table mapping {@code gtEntries} grains to where they lie.
 *
 * <p>A grain's location is a byte offset in the file, or {@link #LOC_UNALLOCATED} / {@link #LOC_ZERO}
 * (neither is a possible grain offset: grains start on sector boundaries past the header). Grain
 * tables are decoded and validated once (every entry inside the file) and kept in a bounded,
 * direct-mapped, lock-free cache, so concurrent readers never block each other.
 */
abstract class GrainedExtentReader implements ExtentReader {
    /** Location of a grain that this extent does not hold. */
    static final long LOC_UNALLOCATED = 0;
    /** Location of a grain that reads as zeros. */
    static final long LOC_ZERO = 1;
    /** Bytes of a streamOptimized grain marker before the deflate data: lba (u64) and size (u32). */
    static final int MARKER_HEADER = 12;

    final FileSource file;
    final long size;
    final int grainBytes;
    final int gtEntries;
    final long gtSpan;
    final boolean compressed;
    final boolean markers;
    private final AtomicReferenceArray<Table> cache;
    private final int cacheMask;
    private final ThreadLocal<GrainBuffer> inflated;

    /** One decoded grain table; {@code loc} is null when the directory has no table there. */
    record Table(long index, long[] loc) {}

    /** A thread's inflater and its last inflated grain (sequential reads hit it often). */
    private static final class GrainBuffer {
        final Inflater inflater = new Inflater();
        final byte[] data;
        byte[] input = new byte[0];
        long grain = -1;

        GrainBuffer(int grainBytes) {
            data = new byte[grainBytes];
        }
    }

    GrainedExtentReader(FileSource file, long size, long grainBytes, int gtEntries, boolean compressed,
            boolean markers) {
        this.file = file;
        this.size = size;
        this.grainBytes = Math.toIntExact(grainBytes);
        this.gtEntries = gtEntries;
        this.gtSpan = Math.multiplyExact(grainBytes, gtEntries);
        this.compressed = compressed;
        this.markers = markers;
        long tableBytes = gtEntries * 8L;
        int slots = Integer.highestOneBit((int) Math.max(16, Math.min(65536, Limits.GT_CACHE_BYTES / tableBytes)));
        this.cache = new AtomicReferenceArray<>(slots);
        this.cacheMask = slots - 1;
        this.inflated = compressed ? ThreadLocal.withInitial(() -> new GrainBuffer(this.grainBytes)) : null;
    }

    /**
     * Reads and validates the grain table at directory index {@code gdIndex}: returns grain
     * locations (every DATA location checked to lie inside the file), or null when there is no table.
     */
    abstract long[] loadTable(long gdIndex) throws IOException;

    /** The number of grains of this extent. */
    final long grainCount() {
        return (size + grainBytes - 1) / grainBytes;
    }

    /** The bytes of grain {@code grain} that belong to the extent (the last may be short). */
    final int grainLength(long grain) {
        return (int) Math.min(grainBytes, size - grain * grainBytes);
    }

    private Table table(long gdIndex) throws IOException {
        int slot = (int) (gdIndex & cacheMask);
        Table t = cache.get(slot);
        if (t != null && t.index == gdIndex) {
            return t;
        }
        t = new Table(gdIndex, loadTable(gdIndex));
        cache.set(slot, t);
        return t;
    }

    /** Where grain {@code grain} lies: a file offset, {@link #LOC_UNALLOCATED} or {@link #LOC_ZERO}. */
    final long location(long grain) throws IOException {
        Table t = table(grain / gtEntries);
        return t.loc == null ? LOC_UNALLOCATED : t.loc[(int) (grain % gtEntries)];
    }

    static int kindOfLocation(long loc) {
        return loc == LOC_UNALLOCATED ? UNALLOCATED : loc == LOC_ZERO ? ZERO : DATA;
    }

    @Override
    public final long size() {
        return size;
    }

    @Override
    public ExtentFile file() {
        return new ExtentFile(file.path(), true, file::lastRead);
    }

    @Override
    public final long grainSize() {
        return grainBytes;
    }

    @Override
    public final Path path() {
        return file.path();
    }

    @Override
    public final long map(long offset, long maxLength) throws IOException {
        long end = offset + Math.min(maxLength, size - offset);
        long pos = offset;
        int kind = -1;
        while (pos < end) {
            long gdIndex = pos / gtSpan;
            Table t = table(gdIndex);
            int k;
            long next;
            if (t.loc == null) {
                k = UNALLOCATED;
                next = (gdIndex + 1) * gtSpan;
            } else {
                long grain = pos / grainBytes;
                int j = (int) (grain % gtEntries);
                k = kindOfLocation(t.loc[j]);
                if (kind >= 0 && k != kind) {
                    break;
                }
                // scan on inside this table while the kind stays the same
                long tableEnd = Math.min(end, (gdIndex + 1) * gtSpan);
                next = (grain + 1) * grainBytes;
                while (next < tableEnd && kindOfLocation(t.loc[++j]) == k) {
                    next += grainBytes;
                }
            }
            if (kind < 0) {
                kind = k;
            } else if (k != kind) {
                break;
            }
            pos = Math.min(next, end);
        }
        return ExtentReader.run(kind, pos - offset);
    }

    @Override
    public final void read(long offset, ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
            long grain = offset / grainBytes;
            int in = (int) (offset % grainBytes);
            int n = Math.min(dst.remaining(), grainBytes - in);
            long loc = location(grain);
            if (loc == LOC_UNALLOCATED || loc == LOC_ZERO) {
                throw new CorruptImageException(file.path() + ": grain " + grain
                        + " changed from allocated to unallocated while reading");
            }
            if (compressed) {
                if (in == 0 && n == grainBytes) {
                    // a whole grain: inflate straight into the caller's buffer, no copy
                    GrainBuffer b = inflated.get();
                    int pos = dst.position();
                    inflateInto(grain, loc, b, dst);
                    dst.position(pos + n);
                } else {
                    byte[] g = inflate(grain, loc);
                    dst.put(g, in, n);
                }
            } else {
                // coalesce grains that lie one after another in the file into one read
                int total = n;
                for (long k = 1; total < dst.remaining(); k++) {
                    long next = location(grain + k);
                    if (next != loc + k * grainBytes) {
                        break;
                    }
                    total += Math.min(dst.remaining() - total, grainBytes);
                }
                int lim = dst.limit();
                dst.limit(dst.position() + total);
                file.read(loc + in, dst);
                dst.limit(lim);
                n = total;
            }
            offset += n;
        }
    }

    @Override
    public final boolean compressed() {
        return compressed;
    }

    @Override
    public final void transferTo(long offset, long length, java.nio.channels.WritableByteChannel out)
            throws IOException {
        if (compressed) {
            ExtentReader.super.transferTo(offset, length, out);
            return;
        }
        long end = offset + length;
        while (offset < end) {
            long grain = offset / grainBytes;
            long in = offset % grainBytes;
            long loc = location(grain);
            if (loc == LOC_UNALLOCATED || loc == LOC_ZERO) {
                throw new CorruptImageException(file.path() + ": grain " + grain
                        + " changed from allocated to unallocated while reading");
            }
            long n = Math.min(end - offset, grainBytes - in);
            for (long k = 1; offset + n < end; k++) {
                if (location(grain + k) != loc + k * grainBytes) {
                    break;
                }
                n += Math.min(end - offset - n, grainBytes);
            }
            file.transferTo(loc + in, n, out);
            offset += n;
        }
    }

    /** Inflates one compressed grain (zlib stream) into this thread's grain buffer, which it returns. */
    private byte[] inflate(long grain, long loc) throws IOException {
        GrainBuffer b = inflated.get();
        if (b.grain == grain) {
            return b.data;
        }
        b.grain = -1;
        int out = inflateInto(grain, loc, b, ByteBuffer.wrap(b.data));
        if (out < grainBytes) {
            java.util.Arrays.fill(b.data, out, grainBytes, (byte) 0);
        }
        b.grain = grain;
        return b.data;
    }

    /**
     * Reads grain {@code grain}'s compressed bytes at {@code loc} (one read for marker and data in the
     * common case) and inflates them into {@code dst} (at most one grain); returns the bytes produced,
     * checked to cover at least the grain's share of the extent.
     */
    private int inflateInto(long grain, long loc, GrainBuffer b, ByteBuffer dst) throws IOException {
        int head = markers ? MARKER_HEADER : 0;
        // one read covers marker and data unless the grain did not compress (stored blocks add ~0.1%)
        int guess = (int) Math.min(file.size() - loc,
                markers ? head + grainBytes + grainBytes / 64 + 64L : 2L * grainBytes);
        if (b.input.length < guess) {
            b.input = new byte[Math.max(guess, head + 2 * grainBytes)];
        }
        ByteBuffer first = ByteBuffer.wrap(b.input, 0, guess);
        file.read(loc, first);
        long dataAt = loc + head;
        int dataLen;
        if (markers) {
            ByteBuffer m = ByteBuffer.wrap(b.input, 0, MARKER_HEADER).order(ByteOrder.LITTLE_ENDIAN);
            long lba = m.getLong(0);
            long expectLba = grain * (grainBytes / Limits.SECTOR) + lbaBase();
            if (lba != expectLba) {
                throw new CorruptImageException(file.path() + " at 0x" + Long.toHexString(loc)
                        + ": grain marker for grain " + grain + ", expected lba " + expectLba + ", found " + lba);
            }
            long len = Integer.toUnsignedLong(m.getInt(8));
            // a deflated grain is at most ~grain + 0.1% + header; qemu allows two grains
            if (len == 0 || len > 2L * grainBytes) {
                throw new CorruptImageException(file.path() + " at 0x" + Long.toHexString(loc + 8)
                        + ": compressed grain size " + len + ", expected 1.." + 2L * grainBytes);
            }
            if (dataAt + len > file.size()) {
                throw new CorruptImageException(file.path() + " at 0x" + Long.toHexString(loc)
                        + ": compressed grain of " + len + " bytes runs past the end of the file");
            }
            dataLen = (int) len;
            if (head + dataLen > guess) {
                file.read(loc + guess, ByteBuffer.wrap(b.input, guess, head + dataLen - guess));
            }
        } else {
            dataLen = guess;
        }
        Inflater inf = b.inflater;
        inf.reset();
        inf.setInput(b.input, head, dataLen);
        int start = dst.position();
        int limit = dst.limit();
        dst.limit(start + Math.min(grainBytes, dst.remaining()));
        try {
            while (dst.hasRemaining() && !inf.finished()) {
                int got = inf.inflate(dst);
                if (got == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    break;
                }
            }
        } catch (DataFormatException e) {
            throw new CorruptImageException(file.path() + " at 0x" + Long.toHexString(dataAt)
                    + ": grain " + grain + " does not inflate: " + e.getMessage());
        } finally {
            dst.limit(limit);
        }
        int out = dst.position() - start;
        int want = grainLength(grain);
        if (!inf.finished() || out < want) {
            throw new CorruptImageException(file.path() + " at 0x" + Long.toHexString(dataAt)
                    + ": grain " + grain + " inflates to " + out + (inf.finished() ? "" : "+")
                    + " bytes, expected " + (want == grainBytes ? "" : want + "..") + grainBytes);
        }
        return out;
    }

    /** The lba a grain marker of grain 0 carries (non-zero only for later extents of a split disk). */
    long lbaBase() {
        return 0;
    }

    /** Reads a table of {@code count} little-endian entries of {@code width} bytes (4 or 8) at {@code at}. */
    final ByteBuffer readTable(long at, long count, int width, String what) throws IOException {
        long bytes = Math.multiplyExact(count, (long) width);
        if (at < 0 || at > file.size() - bytes) {
            throw new CorruptImageException(file.path() + " at 0x" + Long.toHexString(at) + ": " + what
                    + " of " + bytes + " bytes runs past the end of the file (size 0x"
                    + Long.toHexString(file.size()) + ")");
        }
        return file.readBuffer(at, Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Checks a DATA grain location against the file size; {@code entryAt} is the table entry's offset. */
    final long checkGrain(long grain, long loc, long entryAt) throws CorruptImageException {
        long need = compressed ? MARKER_HEADER : grainLength(grain);
        if (loc < Limits.SECTOR || loc > file.size() - need) {
            throw new CorruptImageException(file.path() + " at 0x" + Long.toHexString(entryAt)
                    + ": grain table entry for grain " + grain + " points to 0x" + Long.toHexString(loc)
                    + ", outside the file (0x200..0x" + Long.toHexString(file.size() - need) + ")");
        }
        return loc;
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
