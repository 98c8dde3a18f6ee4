package dev.coffer.agent.load;

import java.io.IOException;

/**
 * A kernel statistics file ({@code /proc/diskstats}, {@code /proc/pressure/*},
 * {@code /proc/self/mountinfo}, {@code /sys/dev/block}) that could not be read or did not parse;
 * the message names the file, the line and what was expected and found.
 */
public class LoadProbeException extends IOException {
    private static final long serialVersionUID = 1L;

    /** An exception with a message that names the file and the place in it. */
    public LoadProbeException(String message) {
        super(message);
    }

    /** An exception with a message that names the file and the underlying cause. */
    public LoadProbeException(String message, Throwable cause) {
        super(message, cause);
    }
}
