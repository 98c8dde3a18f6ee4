package dev.coffer.dedup;

/** A request names something invalid: a malformed backup id, a count mismatch, a conflicting manifest. */
public class InvalidRequestException extends DedupException {
    private static final long serialVersionUID = 1L;

    /** @param message what was wrong, with the value found */
    public InvalidRequestException(String message) {
        super(message);
    }
}
