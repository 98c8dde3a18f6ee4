package dev.coffer.vmdk;

import java.io.IOException;

/**
 * The root of every checked error the {@code vmdk} module throws: a virtual disk or partition table that cannot be read as asked.
 *
 * <p>Subclasses say what kind of failure it is ({@code Corrupt…}, {@code Unsupported…},
 * {@code LimitExceeded…}); every message names the place (file, offset) and what was expected and found.
 */
public class VmdkException extends IOException {
    private static final long serialVersionUID = 1L;

    public VmdkException(String message) {
        super(message);
    }

    public VmdkException(String message, Throwable cause) {
        super(message, cause);
    }
}
