package dev.coffer.catalog;

/** One entry of a block list: the block that holds the bytes starting at {@code offset} (bytes) of a stream or disk region. */
public record BlockRef(long offset, Block block) {
    public BlockRef {
        if (offset < 0) {
            throw new IllegalArgumentException("offset " + offset);
        }
        if (block == null) {
            throw new IllegalArgumentException("block is null");
        }
    }
}
