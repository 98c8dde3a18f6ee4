package dev.coffer.dedup;

/** The error codes of the {@code ERROR} frame (docs/protocol.md); {@code fatal} ones close the connection. */
public enum ErrorCode {
    /** Bad magic, flags, or body layout. */
    MALFORMED_FRAME(1, true),
    /** bodyLength over the limit. */
    FRAME_TOO_LARGE(2, true),
    /** Opcode not in this version. */
    UNKNOWN_OPCODE(3, true),
    /** No common protocol version. */
    UNSUPPORTED_VERSION(4, true),
    /** Missing or wrong credentials. */
    AUTH_FAILED(5, true),
    /** Request before HELLO, or a second HELLO. */
    PROTOCOL_STATE(6, true),
    /** Uploaded bytes do not hash to the SHA-256 given. */
    HASH_MISMATCH(7, false),
    /** GET of an absent block. */
    NOT_FOUND(8, false),
    /** A manifest references blocks the store lacks. */
    MISSING_BLOCKS(9, false),
    /** The stored copy of a block fails its checks. */
    CORRUPT_BLOCK(10, false),
    /** Too many connections, manifest too long, block too big. */
    LIMIT_EXCEEDED(11, true),
    /** The connection was silent too long. */
    IDLE_TIMEOUT(12, true),
    /** Bad backupId, count mismatch, conflicting manifest. */
    INVALID_ARGUMENT(13, false),
    /** The store failed to read or write. */
    STORE_IO(14, false),
    /** The server is stopping. */
    SHUTTING_DOWN(15, true);

    private final int code;
    private final boolean fatal;

    ErrorCode(int code, boolean fatal) {
        this.code = code;
        this.fatal = fatal;
    }

    /** The u16 on the wire. */
    public int code() {
        return code;
    }

    /** Whether the server closes the connection after sending it. */
    public boolean fatal() {
        return fatal;
    }

    /** The code with this number, or null when unknown. */
    public static ErrorCode byCode(int code) {
        for (ErrorCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return null;
    }
}
