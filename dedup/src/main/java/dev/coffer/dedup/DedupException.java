package dev.coffer.dedup;

import java.io.IOException;

/**
 * The root of every checked error the {@code dedup} module throws: a block, frame, session or store operation that failed.
 *
 * <p>Subclasses say what kind of failure it is ({@code Corrupt…}, {@code Unsupported…},
 * {@code LimitExceeded…}); every message names the place (file, offset) and what was expected and found.
 */
public class DedupException extends IOException {
    private static final long serialVersionUID = 1L;

    public DedupException(String message) {
        super(message);
    }

    public DedupException(String message, Throwable cause) {
        super(message, cause);
    }
}
