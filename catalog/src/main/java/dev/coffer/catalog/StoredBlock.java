package dev.coffer.catalog;

/**
 * Where a destination acknowledged a block: the block, the bytes it occupies there after compression, the
 * codec name (e.g. "zstd", "none") and an opaque locator the destination understands (may be empty).
 */
public record StoredBlock(Block block, long storedSize, String codec, byte[] locator) {
    public StoredBlock {
        if (block == null || storedSize < 0 || codec == null) {
            throw new IllegalArgumentException("stored block needs a block, size >= 0 and a codec");
        }
        locator = locator == null ? new byte[0] : locator;
    }
}
