package dev.coffer.catalog;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * One content block's identity: its SHA-256 (32 bytes, the content address at the destination), its MD5
 * (16 bytes, kept as in the paper's catalog) and its raw (uncompressed) size in bytes.
 */
public record Block(byte[] sha256, byte[] md5, long sizeBytes) {
    /** Largest raw block the catalog accepts: 64 MiB, far above any block size the engine cuts (1 MiB). */
    public static final long MAX_BLOCK_BYTES = 64L << 20;

    public Block {
        if (sha256 == null || sha256.length != 32) {
            throw new IllegalArgumentException("sha256 must be 32 bytes");
        }
        if (md5 == null || md5.length != 16) {
            throw new IllegalArgumentException("md5 must be 16 bytes");
        }
        if (sizeBytes < 0 || sizeBytes > MAX_BLOCK_BYTES) {
            throw new IllegalArgumentException("block size " + sizeBytes + " outside 0.." + MAX_BLOCK_BYTES);
        }
    }

    /** The SHA-256 as lower-case hex. */
    public String sha256Hex() {
        return HexFormat.of().formatHex(sha256);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Block b && Arrays.equals(sha256, b.sha256) && Arrays.equals(md5, b.md5)
                && sizeBytes == b.sizeBytes;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(sha256);
    }

    @Override
    public String toString() {
        return "Block[" + sha256Hex() + ", " + sizeBytes + " bytes]";
    }
}
