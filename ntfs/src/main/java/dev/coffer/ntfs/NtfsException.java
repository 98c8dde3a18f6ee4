package dev.coffer.ntfs;

import java.io.IOException;

/**
 * The root of every checked error the {@code ntfs} module throws: an NTFS volume, record or stream that cannot be read as asked.
 *
 * <p>Subclasses say what kind of failure it is ({@code Corrupt…}, {@code Unsupported…},
 * {@code LimitExceeded…}); every message names the place (file, offset) and what was expected and found.
 */
public class NtfsException extends IOException {
    private static final long serialVersionUID = 1L;

    public NtfsException(String message) {
        super(message);
    }

    public NtfsException(String message, Throwable cause) {
        super(message, cause);
    }
}
