package dev.coffer.agent.backup;

import java.util.List;

/**
 * One block to read and hash: its bytes are its pieces concatenated, {@code length} in all.
 *
 * @param offset the block's offset in whatever it is cut from (a stream, a volume, a disk)
 * @param length bytes in the block (at most the block size)
 * @param pieces where the bytes come from, in order
 */
record BlockTask(long offset, int length, List<Piece> pieces) {
    BlockTask {
        pieces = List.copyOf(pieces);
        long sum = 0;
        for (Piece p : pieces) {
            sum += p.length();
        }
        if (sum != length) {
            throw new IllegalArgumentException("pieces cover " + sum + " bytes, block has " + length);
        }
    }
}
