package dev.coffer.agent.restore;

import java.time.Instant;
import java.time.LocalDate;
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

    /**
     * {@code t.toString()}, the ISO-8601 form ({@code 2024-03-01T12:00:05.120Z}: seconds always, the
     * fraction in groups of three digits as needed), without {@code DateTimeFormatter}: the JDK's
     * {@code Instant.toString} builds it on first use, ~5 ms of CPU on the commit of a one-file
     * restore. Years outside 0-9999 (NTFS reaches 30828) go to {@code Instant.toString}.
     */
    public static String iso(Instant t) {
        long days = Math.floorDiv(t.getEpochSecond(), 86_400L);
        int secs = (int) Math.floorMod(t.getEpochSecond(), 86_400L);
        LocalDate d = LocalDate.ofEpochDay(days);
        if (d.getYear() < 0 || d.getYear() > 9999) {
            return t.toString();
        }
        StringBuilder b = new StringBuilder(30);
        pad(b, d.getYear(), 4).append('-');
        pad(b, d.getMonthValue(), 2).append('-');
        pad(b, d.getDayOfMonth(), 2).append('T');
        pad(b, secs / 3600, 2).append(':');
        pad(b, secs / 60 % 60, 2).append(':');
        pad(b, secs % 60, 2);
        int nanos = t.getNano();
        if (nanos != 0) {
            b.append('.');
            if (nanos % 1_000_000 == 0) {
                pad(b, nanos / 1_000_000, 3);
            } else if (nanos % 1000 == 0) {
                pad(b, nanos / 1000, 6);
            } else {
                pad(b, nanos, 9);
            }
        }
        return b.append('Z').toString();
    }

    private static StringBuilder pad(StringBuilder b, int v, int width) {
        String s = Integer.toString(v);
        for (int i = s.length(); i < width; i++) {
            b.append('0');
        }
        return b.append(s);
    }
}
