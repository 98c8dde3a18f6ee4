package dev.coffer.ntfs;

/** Validation helpers that turn hostile on-disk values into {@link CorruptNtfsException}s naming the place. */
final class Checks {
    private Checks() {}

    static long range(long value, long min, long max, String where, String what) throws CorruptNtfsException {
        if (value < min || value > max) {
            throw new CorruptNtfsException(where + ": " + what + " out of range, expected " + min + ".." + max
                    + ", found " + value);
        }
        return value;
    }

    static int range(int value, int min, int max, String where, String what) throws CorruptNtfsException {
        if (value < min || value > max) {
            throw new CorruptNtfsException(where + ": " + what + " out of range, expected " + min + ".." + max
                    + ", found " + value);
        }
        return value;
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
