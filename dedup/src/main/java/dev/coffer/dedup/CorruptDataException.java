package dev.coffer.dedup;

/** Bytes read from disk or the wire are not what their format or their hash says they must be. */
public class CorruptDataException extends DedupException {
    private static final long serialVersionUID = 1L;

    /** @param message where (file + offset, or peer + request) and what was expected and found */
    public CorruptDataException(String message) {
        super(message);
    }

    /** @param message where and what; {@code cause} is the decoder's own failure */
    public CorruptDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
