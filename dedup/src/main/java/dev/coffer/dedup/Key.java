package dev.coffer.dedup;

import java.util.Arrays;

/** A SHA-256 usable as a hash-map key (the array is not copied: callers hand over ownership). */
final class Key {
    final byte[] sha;
    private final int hash;

    Key(byte[] sha) {
        this.sha = sha;
        this.hash = (sha[0] & 0xFF) | (sha[1] & 0xFF) << 8 | (sha[2] & 0xFF) << 16 | (sha[3] & 0xFF) << 24;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Key k && Arrays.equals(sha, k.sha);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return java.util.HexFormat.of().formatHex(sha);
    }
}
