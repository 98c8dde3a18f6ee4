package dev.coffer.agent.cli;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** Formats catalog times (nanoseconds since the epoch) as ISO-8601 UTC, to the second. */
public final class Times {
    private static final DateTimeFormatter ISO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss'Z'")
            .withZone(ZoneOffset.UTC);

    private Times() {}

    /** "2026-11-22T03:07:41Z"; "-" for 0 (unknown). */
    public static String nanos(long nanos) {
        return nanos == 0 ? "-" : ISO.format(Instant.ofEpochSecond(Math.floorDiv(nanos, 1_000_000_000L),
                Math.floorMod(nanos, 1_000_000_000L)));
    }

    /** An instant as ISO-8601 UTC; "-" for null. */
    public static String instant(Instant t) {
        return t == null ? "-" : ISO.format(t);
    }
}
