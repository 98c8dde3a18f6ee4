package dev.coffer.ntfs;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Positional reads of one stream's content: resident bytes, clusters through the run list, zeros
 * for sparse holes and past the initialized size, LZNT1 compression units decompressed, EFS
 * encrypted streams returned raw. Thread-safe (the only shared state, the last decompressed unit,
 * is guarded by {@code this}).
 */
public final class StreamReader {
    private final VolumeSource src;
    private final StreamInfo stream;
    private final String where;
    private final int clusterSize;
    private final long[] vcns;
    private final long[] lcns;
    private final long[] counts;
    private final int unitBytes;
    private long cachedUnit = -1;
    private byte[] cachedData;

    StreamReader(VolumeSource src, StreamInfo stream, int clusterSize, String where) throws NtfsException {
        this.src = src;
        this.stream = stream;
        this.where = where;
        this.clusterSize = clusterSize;
        List<Run> runs = stream.runs();
        vcns = new long[runs.size()];
        lcns = new long[runs.size()];
        counts = new long[runs.size()];
        for (int i = 0; i < runs.size(); i++) {
            vcns[i] = runs.get(i).vcn();
            lcns[i] = runs.get(i).lcn();
            counts[i] = runs.get(i).clusterCount();
        }
        if (stream.compressed() && !stream.resident()) {
            long u = (long) clusterSize * stream.compressionUnitClusters();
            if (u > MAX_UNIT_BYTES) {
                throw new UnsupportedNtfsException(where + ": compression unit of " + u + " bytes exceeds "
                        + MAX_UNIT_BYTES + " (NTFS compresses only with clusters <= 4 KiB)");
            }
            unitBytes = (int) u;
        } else {
            unitBytes = 0;
        }
    }

    /** Largest compression unit decoded: 16 clusters of 64 KiB; real volumes use 16 x 4 KiB. */
    static final int MAX_UNIT_BYTES = 1 << 20;

    /** The stream read. */
    public StreamInfo stream() {
        return stream;
    }

    /** The stream's logical size in bytes. */
    public long size() {
        return stream.size();
    }

    /**
     * Reads up to {@code dst.remaining()} bytes from byte {@code offset} of the stream into
     * {@code dst}; returns the count, which is less only at the end of the stream, or -1 when
     * {@code offset} is at or past the end.
     */
    public int read(long offset, ByteBuffer dst) throws IOException {
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset);
        }
        long size = stream.size();
        if (offset >= size) {
            return dst.hasRemaining() ? -1 : 0;
        }
        int n = (int) Math.min(dst.remaining(), size - offset);
        long end = offset + n;
        long init = Math.min(stream.initializedSize(), size);
        if (stream.resident()) {
            byte[] v = stream.residentData;
            long have = Math.min(end, v.length);
            if (offset < have) {
                dst.put(v, (int) offset, (int) (have - offset));
            }
            zeros(dst, end - Math.max(offset, have));
            return n;
        }
        long pos = offset;
        long dataEnd = Math.min(end, init);
        if (unitBytes > 0) {
            while (pos < dataEnd) {
                long unit = pos / unitBytes;
                int in = (int) (pos - unit * unitBytes);
                int take = (int) Math.min(unitBytes - in, dataEnd - pos);
                synchronized (this) {
                    if (cachedUnit != unit) {
                        if (cachedData == null) {
                            cachedData = new byte[unitBytes];
                        }
                        decodeUnit(unit, cachedData);
                        cachedUnit = unit;
                    }
                    dst.put(cachedData, in, take);
                }
                pos += take;
            }
        } else {
            while (pos < dataEnd) {
                long vcn = pos / clusterSize;
                int i = find(vcn);
                if (i < 0) {
                    throw new CorruptNtfsException(where + ": offset " + pos + " (vcn " + vcn + ") is not covered by the run list");
                }
                long runEnd = (vcns[i] + counts[i]) * clusterSize;
                int take = (int) (Math.min(runEnd, dataEnd) - pos);
                if (lcns[i] < 0) {
                    zeros(dst, take);
                } else {
                    int lim = dst.limit();
                    dst.limit(dst.position() + take);
                    try {
                        src.read(lcns[i] * clusterSize + (pos - vcns[i] * clusterSize), dst);
                    } finally {
                        dst.limit(lim);
                    }
                }
                pos += take;
            }
        }
        zeros(dst, end - Math.max(pos, offset));
        return n;
    }

    /** Reads exactly {@code dst.remaining()} bytes from {@code offset}; throws {@link EOFException} past the end. */
    public void readFully(long offset, ByteBuffer dst) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = read(pos, dst);
            if (n < 0) {
                throw new EOFException(where + ": read past the end (" + stream.size() + " bytes) at " + pos);
            }
            pos += n;
        }
    }

    /**
     * The volume byte offset holding stream byte {@code offset}, or -1 when it is in a hole, not
     * mapped, or the stream is resident. For messages and for block-level callers.
     */
    public long volumeOffset(long offset) {
        if (offset < 0 || unitBytes > 0) {
            return -1;
        }
        int i = find(offset / clusterSize);
        if (i < 0 || lcns[i] < 0) {
            return -1;
        }
        return lcns[i] * clusterSize + (offset - vcns[i] * clusterSize);
    }

    /** Decodes compression unit {@code unit} into {@code out} (unitBytes long). Caller holds the lock. */
    private void decodeUnit(long unit, byte[] out) throws IOException {
        int cuClusters = stream.compressionUnitClusters();
        long first = unit * cuClusters;
        long last = first + cuClusters;
        int allocated = 0;
        for (int i = firstEndingAfter(first); i < vcns.length && vcns[i] < last; i++) {
            if (lcns[i] >= 0) {
                allocated += (int) (Math.min(last, vcns[i] + counts[i]) - Math.max(first, vcns[i]));
            }
        }
        if (allocated == 0) {
            Arrays.fill(out, (byte) 0);
            return;
        }
        byte[] raw = allocated == cuClusters ? out : new byte[allocated * clusterSize];
        int at = 0;
        for (int i = firstEndingAfter(first); i < vcns.length && vcns[i] < last; i++) {
            if (lcns[i] >= 0) {
                long from = Math.max(first, vcns[i]);
                long to = Math.min(last, vcns[i] + counts[i]);
                int len = (int) ((to - from) * clusterSize);
                src.read((lcns[i] + (from - vcns[i])) * clusterSize, ByteBuffer.wrap(raw, at, len));
                at += len;
            }
        }
        if (allocated != cuClusters) {
            Lznt1.decompress(raw, 0, raw.length, out, 0, out.length, where + " compression unit " + unit);
        }
    }

    /** Index of the first run that ends after {@code vcn} (vcns.length when none does). */
    private int firstEndingAfter(long vcn) {
        int lo = 0;
        int hi = vcns.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (vcns[mid] + counts[mid] <= vcn) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Index of the run holding {@code vcn}, or -1. */
    private int find(long vcn) {
        int lo = 0;
        int hi = vcns.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (vcns[mid] > vcn) {
                hi = mid - 1;
            } else if (vcns[mid] + counts[mid] <= vcn) {
                lo = mid + 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    private static final byte[] ZEROS = new byte[64 * 1024];

    private static void zeros(ByteBuffer dst, long n) {
        while (n > 0) {
            int k = (int) Math.min(n, ZEROS.length);
            dst.put(ZEROS, 0, k);
            n -= k;
        }
    }
}
