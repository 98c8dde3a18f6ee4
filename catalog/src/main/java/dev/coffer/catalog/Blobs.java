package dev.coffer.catalog;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes the two compact BLOB columns (layouts in docs/catalog.md):
 *
 * <ul>
 *   <li>block list ({@code stream.blocks}, {@code region.blocks}): byte 0x00 = format {@link #BLOCKS_FORMAT},
 *       then one 40-byte entry per block: u64 little-endian offset, 32-byte SHA-256;</li>
 *   <li>cluster runs ({@code stream.runs}): byte 0x00 = format {@link #RUNS_FORMAT}, then per run an unsigned
 *       LEB128 varint {@code clusterCount << 1 | sparse} and, for a non-sparse run, a zigzag LEB128 varint of
 *       {@code lcn - previousLcn} (previousLcn starts at 0), the way NTFS mapping pairs store deltas.</li>
 * </ul>
 *
 * Decoding treats every blob as hostile: a blob that does not parse is a {@link CorruptCatalogException}
 * naming the column and the row.
 */
final class Blobs {
    static final byte BLOCKS_FORMAT = 1;
    static final byte RUNS_FORMAT = 1;
    /** Bytes per block-list entry: u64 offset + SHA-256. */
    static final int BLOCK_ENTRY_BYTES = 8 + 32;
    /**
     * Most block-list entries in one stream: 2^24, i.e. a 16 TiB stream at 1 MiB blocks (NTFS's practical
     * file size limit with 4 KiB clusters); keeps one blob under 640 MiB, below SQLite's 1 GB blob limit.
     */
    static final int MAX_BLOCKS_PER_LIST = 1 << 24;
    /** Most runs per stream: 2^22, far above the ~1.5M a maximally fragmented 16 TiB file could hold in practice. */
    static final int MAX_RUNS = 1 << 22;

    private Blobs() {}

    static byte[] encodeBlocks(List<BlockRef> refs) throws LimitExceededCatalogException {
        if (refs.size() > MAX_BLOCKS_PER_LIST) {
            throw new LimitExceededCatalogException("block list of " + refs.size() + " entries exceeds the limit of "
                    + MAX_BLOCKS_PER_LIST);
        }
        ByteBuffer b = ByteBuffer.allocate(1 + refs.size() * BLOCK_ENTRY_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.put(BLOCKS_FORMAT);
        for (BlockRef r : refs) {
            b.putLong(r.offset());
            b.put(r.block().sha256());
        }
        return b.array();
    }

    /** The number of entries of a block-list blob, validating its framing. */
    static int blockCount(byte[] blob, String where) throws CorruptCatalogException {
        if (blob == null || blob.length < 1 || blob[0] != BLOCKS_FORMAT) {
            throw new CorruptCatalogException(where + ": block list format byte at 0x0: expected 0x01, found "
                    + (blob == null || blob.length == 0 ? "nothing" : String.format("0x%02x", blob[0])));
        }
        if ((blob.length - 1) % BLOCK_ENTRY_BYTES != 0) {
            throw new CorruptCatalogException(where + ": block list of " + blob.length
                    + " bytes is not 1 + a multiple of " + BLOCK_ENTRY_BYTES);
        }
        return (blob.length - 1) / BLOCK_ENTRY_BYTES;
    }

    static long blockOffset(byte[] blob, int i) {
        return ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN).getLong(1 + i * BLOCK_ENTRY_BYTES);
    }

    static byte[] blockSha(byte[] blob, int i) {
        byte[] sha = new byte[32];
        System.arraycopy(blob, 1 + i * BLOCK_ENTRY_BYTES + 8, sha, 0, 32);
        return sha;
    }

    static byte[] encodeRuns(List<Run> runs) throws LimitExceededCatalogException {
        if (runs.size() > MAX_RUNS) {
            throw new LimitExceededCatalogException("run list of " + runs.size() + " runs exceeds the limit of " + MAX_RUNS);
        }
        ByteBuffer b = ByteBuffer.allocate(1 + runs.size() * 20);
        b.put(RUNS_FORMAT);
        long prev = 0;
        for (Run r : runs) {
            boolean sparse = r.lcn() == Run.SPARSE;
            putVarint(b, (r.clusterCount() << 1) | (sparse ? 1 : 0));
            if (!sparse) {
                long d = r.lcn() - prev;
                putVarint(b, (d << 1) ^ (d >> 63));
                prev = r.lcn();
            }
        }
        byte[] out = new byte[b.position()];
        System.arraycopy(b.array(), 0, out, 0, out.length);
        return out;
    }

    static List<Run> decodeRuns(byte[] blob, String where) throws CorruptCatalogException {
        if (blob == null || blob.length < 1 || blob[0] != RUNS_FORMAT) {
            throw new CorruptCatalogException(where + ": run list format byte at 0x0: expected 0x01, found "
                    + (blob == null || blob.length == 0 ? "nothing" : String.format("0x%02x", blob[0])));
        }
        List<Run> runs = new ArrayList<>();
        int[] pos = {1};
        long prev = 0;
        while (pos[0] < blob.length) {
            if (runs.size() >= MAX_RUNS) {
                throw new CorruptCatalogException(where + ": run list at 0x" + Integer.toHexString(pos[0])
                        + " holds more than " + MAX_RUNS + " runs");
            }
            int at = pos[0];
            long head = getVarint(blob, pos, where);
            long count = head >>> 1;
            if (count <= 0 || count > (Long.MAX_VALUE >> 2)) {
                throw new CorruptCatalogException(where + ": run at 0x" + Integer.toHexString(at)
                        + ": cluster count " + count + " outside 1.." + (Long.MAX_VALUE >> 2));
            }
            if ((head & 1) != 0) {
                runs.add(new Run(Run.SPARSE, count));
            } else {
                long z = getVarint(blob, pos, where);
                long d = (z >>> 1) ^ -(z & 1);
                long lcn;
                try {
                    lcn = Math.addExact(prev, d);
                } catch (ArithmeticException e) {
                    throw new CorruptCatalogException(where + ": run at 0x" + Integer.toHexString(at) + ": lcn overflows");
                }
                if (lcn < 0) {
                    throw new CorruptCatalogException(where + ": run at 0x" + Integer.toHexString(at)
                            + ": lcn expected >= 0, found " + lcn);
                }
                runs.add(new Run(lcn, count));
                prev = lcn;
            }
        }
        return runs;
    }

    private static void putVarint(ByteBuffer b, long v) {
        while ((v & ~0x7FL) != 0) {
            b.put((byte) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        b.put((byte) v);
    }

    private static long getVarint(byte[] blob, int[] pos, String where) throws CorruptCatalogException {
        long v = 0;
        int start = pos[0];
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos[0] >= blob.length) {
                throw new CorruptCatalogException(where + ": varint at 0x" + Integer.toHexString(start)
                        + " runs past the end of the " + blob.length + "-byte blob");
            }
            byte x = blob[pos[0]++];
            v |= (long) (x & 0x7F) << shift;
            if ((x & 0x80) == 0) {
                return v;
            }
        }
        throw new CorruptCatalogException(where + ": varint at 0x" + Integer.toHexString(start) + " longer than 10 bytes");
    }
}
