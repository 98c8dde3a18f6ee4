package dev.coffer.agent.restore;

import java.time.Instant;
import java.util.Objects;

/**
 * The NTFS timestamps of a restored file; any of them may be {@code null} (not set). Creation
 * time is applied where the target filesystem allows it (not on Linux, where it is kept with the
 * other NTFS metadata in the extended attribute or sidecar).
 */
public record FileTimes(Instant created, Instant modified, Instant accessed) {
    /** No times known. */
    public static final FileTimes NONE = new FileTimes(null, null, null);

    /*
     * equals and hashCode written out: a record's own are linked at their first call through
     * ObjectMethods, which every upload worker of a restore reaching it at once did in parallel
     * (~25 ms of CPU of a 50 MB restore, docs/performance.md).
     */

    @Override
    public boolean equals(Object o) {
        return o instanceof FileTimes t && Objects.equals(created, t.created) && Objects.equals(modified, t.modified)
                && Objects.equals(accessed, t.accessed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(created, modified, accessed);
    }
}
