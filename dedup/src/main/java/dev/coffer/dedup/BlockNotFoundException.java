package dev.coffer.dedup;

/** The store does not hold the block asked for. */
public class BlockNotFoundException extends DedupException {
    private static final long serialVersionUID = 1L;

    /** @param message the SHA-256 asked for and the store */
    public BlockNotFoundException(String message) {
        super(message);
    }
}
