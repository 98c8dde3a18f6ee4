package dev.coffer.dedup;

/**
 * How a block's bytes are stored and sent: raw, LZ4 block format, or a Zstandard frame.
 *
 * <p>The numeric ids are part of the wire protocol and the pack format (docs/protocol.md, docs/store.md).
 */
public enum Codec {
    /** Stored as is. */
    RAW(0),
    /** LZ4 block format (lz4-java's fast compressor); the raw length travels beside it. */
    LZ4(1),
    /** One Zstandard frame. */
    ZSTD(2);

    private final int id;

    Codec(int id) {
        this.id = id;
    }

    /** The id written on the wire and in pack records. */
    public int id() {
        return id;
    }

    /** The codec with this id, or null when the id is unknown (the caller reports where it read it). */
    public static Codec byId(int id) {
        return switch (id) {
            case 0 -> RAW;
            case 1 -> LZ4;
            case 2 -> ZSTD;
            default -> null;
        };
    }
}
