package dev.coffer.agent.backup;

import java.io.IOException;

/** A backup (or one of its disks) that could not be done; the message says what and where. */
public final class BackupException extends IOException {
    private static final long serialVersionUID = 1L;

    public BackupException(String message) {
        super(message);
    }

    public BackupException(String message, Throwable cause) {
        super(message, cause);
    }
}
