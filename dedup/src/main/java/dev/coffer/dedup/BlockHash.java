package dev.coffer.dedup;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * The identity of one block: its SHA-256 (the content address at the destination) and its MD5 (the
 * catalog's per-block hash), both over the block's raw (uncompressed) bytes.
 *
 * <p>The arrays are defensively copied in and out; {@link #sha256Hex()} is the printable key.
 */
public record BlockHash(byte[] sha256, byte[] md5) {
    /** Length of a SHA-256 digest in bytes. */
    public static final int SHA256_BYTES = 32;
    /** Length of an MD5 digest in bytes. */
    public static final int MD5_BYTES = 16;

    /** Validates the digest lengths and copies them. */
    public BlockHash {
        if (sha256 == null || sha256.length != SHA256_BYTES) {
            throw new IllegalArgumentException("sha256 must be 32 bytes");
        }
        if (md5 == null || md5.length != MD5_BYTES) {
            throw new IllegalArgumentException("md5 must be 16 bytes");
        }
        sha256 = sha256.clone();
        md5 = md5.clone();
    }

    @Override
    public byte[] sha256() {
        return sha256.clone();
    }

    @Override
    public byte[] md5() {
        return md5.clone();
    }

    /** The SHA-256 as 64 lower-case hex digits. */
    public String sha256Hex() {
        return HexFormat.of().formatHex(sha256);
    }

    /** The MD5 as 32 lower-case hex digits. */
    public String md5Hex() {
        return HexFormat.of().formatHex(md5);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockHash h && Arrays.equals(sha256, h.sha256) && Arrays.equals(md5, h.md5);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(sha256);
    }

    @Override
    public String toString() {
        return "BlockHash[sha256=" + sha256Hex() + ", md5=" + md5Hex() + "]";
    }
}
