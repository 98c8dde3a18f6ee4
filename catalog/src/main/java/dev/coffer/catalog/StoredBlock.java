package dev.coffer.catalog;

/**
 * Where a destination acknowledged a block: its SHA-256, the bytes it occupies there after compression,
 * the codec name (e.g. "zstd", "none") and an opaque locator the destination understands (may be empty).
 */
public record StoredBlock(byte[] sha256, long storedSize, String codec, byte[] locator) {
    public StoredBlock {
        if (sha256 == null || sha256.length != 32 || storedSize < 0 || codec == null) {
            throw new IllegalArgumentException("stored block needs a 32-byte sha256, size >= 0 and a codec");
        }
        locator = locator == null ? new byte[0] : locator;
    }
}
