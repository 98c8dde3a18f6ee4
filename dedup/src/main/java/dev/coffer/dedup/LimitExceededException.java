package dev.coffer.dedup;

/** A length, count or size read from disk or the wire is over a configured limit. */
public class LimitExceededException extends DedupException {
    private static final long serialVersionUID = 1L;

    /** @param message where, the value found and the limit */
    public LimitExceededException(String message) {
        super(message);
    }
}
