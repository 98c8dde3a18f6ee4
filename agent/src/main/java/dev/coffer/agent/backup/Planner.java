package dev.coffer.agent.backup;

import dev.coffer.ntfs.Run;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts what a backup reads into {@link BlockTask}s. Pure arithmetic over runs and ranges; no I/O.
 *
 * <p>Streams are cut by their own offset ({@code [k·B, (k+1)·B)}), so a file has the same blocks
 * wherever it lies. Raw regions and disk regions are cut on a grid aligned to their own space
 * (volume or disk offset), so an unchanged region produces the same blocks in every backup.
 */
final class Planner {
    private Planner() {}

    /**
     * The blocks of a plain non-resident stream's content.
     *
     * @param runs the stream's runs in VCN order (sparse runs have lcn -1)
     * @param clusterBytes the volume's cluster size
     * @param volumeOffset where the volume starts on the disk, in bytes
     * @param size the stream's data size: the content's length
     * @param initializedSize bytes past this read as zeros whatever the clusters hold
     * @param blockBytes the block size B
     */
    static List<BlockTask> stream(List<Run> runs, long clusterBytes, long volumeOffset, long size,
            long initializedSize, int blockBytes) {
        List<BlockTask> out = new ArrayList<>((int) Math.min(1 << 16, size / blockBytes + 1));
        long init = Math.min(initializedSize, size);
        int runIndex = 0;
        for (long blockStart = 0; blockStart < size; blockStart += blockBytes) {
            int len = (int) Math.min(blockBytes, size - blockStart);
            List<Piece> pieces = new ArrayList<>(2);
            long pos = blockStart;
            long end = blockStart + len;
            while (pos < end) {
                if (pos >= init) {
                    add(pieces, Piece.ZEROS, end - pos);
                    break;
                }
                long vcn = pos / clusterBytes;
                while (runIndex < runs.size() && runs.get(runIndex).vcn() + runs.get(runIndex).clusterCount() <= vcn) {
                    runIndex++;
                }
                long stop = Math.min(end, init);
                if (runIndex >= runs.size() || runs.get(runIndex).vcn() > vcn) {
                    // no run maps this VCN: NTFS reads it as zeros (a hole not written as a sparse run)
                    long next = runIndex < runs.size() ? runs.get(runIndex).vcn() * clusterBytes : Long.MAX_VALUE;
                    long n = Math.min(stop, next) - pos;
                    add(pieces, Piece.ZEROS, n);
                    pos += n;
                    continue;
                }
                Run r = runs.get(runIndex);
                long runEndByte = (r.vcn() + r.clusterCount()) * clusterBytes;
                long n = Math.min(stop, runEndByte) - pos;
                long disk = r.sparse() ? Piece.ZEROS
                        : volumeOffset + r.lcn() * clusterBytes + (pos - r.vcn() * clusterBytes);
                add(pieces, disk, n);
                pos += n;
            }
            out.add(new BlockTask(blockStart, len, pieces));
        }
        return out;
    }

    /** Appends a piece, merging it into the previous one when they are contiguous. */
    private static void add(List<Piece> pieces, long disk, long n) {
        if (n <= 0) {
            return;
        }
        if (!pieces.isEmpty()) {
            Piece last = pieces.get(pieces.size() - 1);
            boolean contiguous = last.zeros() ? disk == Piece.ZEROS
                    : disk != Piece.ZEROS && last.diskOffset() + last.length() == disk;
            if (contiguous) {
                pieces.set(pieces.size() - 1, new Piece(last.diskOffset(), (int) (last.length() + n)));
                return;
            }
        }
        pieces.add(new Piece(disk, (int) n));
    }

    /**
     * Fixed blocks over byte ranges, on a grid of {@code blockBytes} aligned to {@code gridOrigin}:
     * one block per part of a range inside one grid cell, so every block is contiguous (offset and
     * length say where it goes back) and an unchanged range cuts the same way in every backup.
     * {@code diskShift} converts range offsets to disk offsets.
     */
    static List<BlockTask> grid(Extents ranges, long gridOrigin, int blockBytes, long diskShift) {
        List<BlockTask> out = new ArrayList<>();
        for (int i = 0; i < ranges.size(); i++) {
            long s = ranges.start(i);
            long e = ranges.end(i);
            while (s < e) {
                long cellEnd = gridOrigin + (Math.floorDiv(s - gridOrigin, blockBytes) + 1) * blockBytes;
                int n = (int) (Math.min(e, cellEnd) - s);
                out.add(new BlockTask(s, n, List.of(new Piece(s + diskShift, n))));
                s += n;
            }
        }
        return out;
    }
}
