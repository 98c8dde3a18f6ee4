package dev.coffer.dedup;

/** A manifest cannot be committed because the store lacks some of the blocks it lists. */
public class MissingBlocksException extends DedupException {
    private static final long serialVersionUID = 1L;

    private final long missingCount;

    /** @param missingCount how many listed blocks are absent; {@code message} names the backup and the first ones */
    public MissingBlocksException(String message, long missingCount) {
        super(message);
        this.missingCount = missingCount;
    }

    /** How many listed blocks are absent. */
    public long missingCount() {
        return missingCount;
    }
}
