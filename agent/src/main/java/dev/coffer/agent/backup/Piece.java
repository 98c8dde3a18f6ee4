package dev.coffer.agent.backup;

/**
 * A contiguous part of one block's bytes: {@code length} bytes read at {@code diskOffset} of the
 * virtual disk, or zeros when {@code diskOffset} is {@link #ZEROS} (a sparse run, or bytes past a
 * stream's initialized size).
 */
record Piece(long diskOffset, int length) {
    /** Marks a piece that reads as zeros and touches no disk bytes. */
    static final long ZEROS = -1;

    boolean zeros() {
        return diskOffset == ZEROS;
    }
}
