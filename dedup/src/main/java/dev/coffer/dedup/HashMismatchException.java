package dev.coffer.dedup;

/** A block's bytes do not hash to the SHA-256 they were sent or stored under. */
public class HashMismatchException extends CorruptDataException {
    private static final long serialVersionUID = 1L;

    /** @param message which block, where, expected and found digests */
    public HashMismatchException(String message) {
        super(message);
    }
}
