package dev.coffer.agent.load;

import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;

/**
 * A daily time window in which backup I/O may run; outside it the {@link IoGovernor} pauses every
 * reader. A window whose end is before its start spans midnight ({@code 22:00-06:00}); equal start
 * and end mean "always".
 *
 * @param start first local time inside the window (inclusive)
 * @param end first local time after the window (exclusive)
 * @param zone the time zone the times are in
 */
public record IoWindow(LocalTime start, LocalTime end, ZoneId zone) {
    /** The window that is always open. */
    public static final IoWindow ALWAYS = new IoWindow(LocalTime.MIDNIGHT, LocalTime.MIDNIGHT,
            ZoneId.of("UTC"));

    /** Rejects nulls. */
    public IoWindow {
        if (start == null || end == null || zone == null) {
            throw new IllegalArgumentException("window start, end and zone are required");
        }
    }

    /** True when {@code instant} falls inside the window. */
    public boolean contains(Instant instant) {
        if (start.equals(end)) {
            return true;
        }
        LocalTime t = instant.atZone(zone).toLocalTime();
        if (start.isBefore(end)) {
            return !t.isBefore(start) && t.isBefore(end);
        }
        return !t.isBefore(start) || t.isBefore(end);
    }
}
