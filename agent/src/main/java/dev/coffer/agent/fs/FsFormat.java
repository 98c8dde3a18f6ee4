package dev.coffer.agent.fs;

import dev.coffer.ntfs.FileRecord;
import java.time.Instant;

/** Text rendering shared by the fs commands: entry types and ISO-8601 UTC times without java.time formatters. */
final class FsFormat {
    private FsFormat() {}

    /** 'd' directory, 'l' symlink or junction, 'r' anything else (regular file, stream). */
    static char type(FileRecord f) {
        return f.directory() && !f.link() ? 'd' : f.link() ? 'l' : 'r';
    }

    /**
     * {@code yyyy-MM-ddTHH:mm:ssZ} for an instant, to the second. Hand-rolled (days-to-civil
     * conversion) because DateTimeFormatter's class loading costs more than a whole `fs ls` of a
     * small volume; years outside 0..9999 fall back to {@link Instant#toString()}.
     */
    static String iso(Instant t) {
        if (t == null) {
            return "-";
        }
        long secs = t.getEpochSecond();
        long days = Math.floorDiv(secs, 86400);
        long sod = Math.floorMod(secs, 86400);
        // civil_from_days, H. Hinnant's public-domain algorithm (days since 1970-01-01 to y/m/d)
        long z = days + 719468;
        long era = Math.floorDiv(z, 146097);
        long doe = z - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long y = yoe + era * 400;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        long d = doy - (153 * mp + 2) / 5 + 1;
        long m = mp < 10 ? mp + 3 : mp - 9;
        if (m <= 2) {
            y++;
        }
        if (y < 0 || y > 9999) {
            return t.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        }
        char[] c = new char[20];
        put(c, 0, y, 4);
        c[4] = '-';
        put(c, 5, m, 2);
        c[7] = '-';
        put(c, 8, d, 2);
        c[10] = 'T';
        put(c, 11, sod / 3600, 2);
        c[13] = ':';
        put(c, 14, sod / 60 % 60, 2);
        c[16] = ':';
        put(c, 17, sod % 60, 2);
        c[19] = 'Z';
        return new String(c);
    }

    private static void put(char[] c, int at, long v, int digits) {
        for (int i = digits - 1; i >= 0; i--) {
            c[at + i] = (char) ('0' + v % 10);
            v /= 10;
        }
    }
}
