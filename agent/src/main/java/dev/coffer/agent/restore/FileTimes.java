package dev.coffer.agent.restore;

import java.time.Instant;

/**
 * The NTFS timestamps of a restored file; any of them may be {@code null} (not set). Creation
 * time is applied where the target filesystem allows it (not on Linux, where it is kept with the
 * other NTFS metadata in the extended attribute or sidecar).
 */
public record FileTimes(Instant created, Instant modified, Instant accessed) {
    /** No times known. */
    public static final FileTimes NONE = new FileTimes(null, null, null);
}
