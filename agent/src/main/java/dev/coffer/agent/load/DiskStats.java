package dev.coffer.agent.load;

import java.util.ArrayList;
import java.util.List;

/**
 * One line of {@code /proc/diskstats}: the cumulative I/O counters of one block device since boot.
 *
 * <p>Source: the kernel's {@code Documentation/admin-guide/iostats.rst}. After major, minor and
 * name come at least 11 counters (fields 1..11 below); kernels 4.18+ add 4 discard fields and 5.5+
 * 2 flush fields, which are ignored here. Counters are unsigned and may wrap; consumers take deltas
 * with {@link #delta(long, long)}. Times are in milliseconds; the kernel sums per-request times in
 * nanoseconds and reports the sum divided down, so {@code readTicksMs / readIos} is a fractional
 * average that stays meaningful below one millisecond.
 *
 * @param major device major number
 * @param minor device minor number
 * @param name kernel device name ({@code vda}, {@code dm-0}, {@code sda1})
 * @param readIos field 1: reads completed
 * @param readSectors field 3: 512-byte sectors read
 * @param readTicksMs field 4: milliseconds spent by all reads (summed over requests)
 * @param writeIos field 5: writes completed
 * @param writeSectors field 7: 512-byte sectors written
 * @param writeTicksMs field 8: milliseconds spent by all writes
 * @param inFlight field 9: I/Os currently in progress (the only non-cumulative field)
 * @param ioTicksMs field 10: milliseconds during which at least one I/O was in flight
 * @param weightedTicksMs field 11: in-flight count integrated over time, milliseconds
 */
public record DiskStats(int major, int minor, String name, long readIos, long readSectors,
        long readTicksMs, long writeIos, long writeSectors, long writeTicksMs, long inFlight,
        long ioTicksMs, long weightedTicksMs) {

    /** Bytes per diskstats sector: always 512 whatever the device's logical block size. */
    public static final int SECTOR_BYTES = 512;
    /** Major, minor, name and the 11 counters every kernel since 2.6 prints. */
    static final int MIN_FIELDS = 14;
    /** Lines accepted from one file: a controller has hundreds of devices, never a million. */
    static final int MAX_LINES = 65_536;

    /** The device number as {@code major:minor}, the key used by {@code /sys/dev/block}. */
    public String devNo() {
        return major + ":" + minor;
    }

    /**
     * Parses the whole text of {@code /proc/diskstats}.
     *
     * @param text the file's content
     * @param source the file name for messages
     * @throws LoadProbeException when a line has too few fields or a field is not a number
     */
    public static List<DiskStats> parseAll(String text, String source) throws LoadProbeException {
        List<DiskStats> out = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        if (lines.length > MAX_LINES) {
            throw new LoadProbeException(source + ": " + lines.length + " lines, expected at most "
                    + MAX_LINES);
        }
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (!line.isEmpty()) {
                out.add(parse(line, source, i + 1));
            }
        }
        return out;
    }

    /**
     * Parses one line of {@code /proc/diskstats}.
     *
     * @param line the line without its newline
     * @param source the file name for messages
     * @param lineNo the 1-based line number for messages
     * @throws LoadProbeException when the line has too few fields or a field is not a number
     */
    public static DiskStats parse(String line, String source, int lineNo) throws LoadProbeException {
        String[] f = line.strip().split("\\s+");
        if (f.length < MIN_FIELDS) {
            throw new LoadProbeException(source + " line " + lineNo + ": expected at least "
                    + MIN_FIELDS + " fields, found " + f.length);
        }
        int major = (int) field(f, 0, source, lineNo, Integer.MAX_VALUE);
        int minor = (int) field(f, 1, source, lineNo, Integer.MAX_VALUE);
        return new DiskStats(major, minor, f[2],
                field(f, 3, source, lineNo, -1), field(f, 5, source, lineNo, -1),
                field(f, 6, source, lineNo, -1), field(f, 7, source, lineNo, -1),
                field(f, 9, source, lineNo, -1), field(f, 10, source, lineNo, -1),
                field(f, 11, source, lineNo, -1), field(f, 12, source, lineNo, -1),
                field(f, 13, source, lineNo, -1));
    }

    private static long field(String[] f, int index, String source, int lineNo, long max)
            throws LoadProbeException {
        String s = f[index];
        long v;
        try {
            v = Long.parseUnsignedLong(s);
        } catch (NumberFormatException e) {
            throw new LoadProbeException(source + " line " + lineNo + " field " + (index + 1)
                    + ": expected an unsigned number, found '" + abbreviate(s) + "'");
        }
        if (max >= 0 && Long.compareUnsigned(v, max) > 0) {
            throw new LoadProbeException(source + " line " + lineNo + " field " + (index + 1)
                    + ": expected at most " + max + ", found " + Long.toUnsignedString(v));
        }
        return v;
    }

    static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    /**
     * The increase of an unsigned counter from {@code before} to {@code after}; a counter that went
     * backwards (device re-created, or a 32-bit field wrapped) yields 0 rather than a huge value.
     */
    public static long delta(long before, long after) {
        long d = after - before;
        if (Long.compareUnsigned(after, before) < 0) {
            return 0;
        }
        return d < 0 ? 0 : d;
    }
}
