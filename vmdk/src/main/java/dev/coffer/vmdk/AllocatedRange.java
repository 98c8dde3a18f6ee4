package dev.coffer.vmdk;

/**
 * A stretch of a virtual disk and where its bytes come from.
 *
 * @param offset byte offset in the virtual disk
 * @param length length in bytes
 * @param layer  index in {@link VirtualDisk#chain()} of the layer that decides these bytes (0 = leaf),
 *               or -1 when no layer holds them
 * @param kind   DATA (stored in {@code layer}), ZERO (reads as zeros, decided by {@code layer}) or
 *               UNALLOCATED (no layer holds it: reads as zeros)
 */
public record AllocatedRange(long offset, long length, int layer, Kind kind) {
    /** What a range holds. */
    public enum Kind {
        /** Bytes stored in the layer. */
        DATA,
        /** Marked as zeros by the layer (zeroed grain, ZERO extent, unmapped seSparse grain). */
        ZERO,
        /** Not stored anywhere in the chain (or, for a leaf-only map, not in the leaf). */
        UNALLOCATED
    }

    /** The first byte after the range. */
    public long end() {
        return offset + length;
    }
}
