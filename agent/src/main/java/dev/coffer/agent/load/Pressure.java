package dev.coffer.agent.load;

/**
 * The content of a pressure-stall file ({@code /proc/pressure/io}, {@code /proc/pressure/cpu}): the
 * share of time in which some (or all non-idle) tasks were stalled waiting for the resource.
 *
 * <p>Source: the kernel's {@code Documentation/accounting/psi.rst}. Each file has a {@code some}
 * line and, since 5.13 also for cpu, a {@code full} line:
 * {@code some avg10=0.08 avg60=0.20 avg300=0.42 total=4565841}. Averages are percent; {@code total}
 * is the cumulative stall time in microseconds.
 *
 * @param some the "some tasks stalled" line
 * @param full the "all non-idle tasks stalled" line, or {@code null} when the kernel does not print it
 */
public record Pressure(Line some, Line full) {

    /** Longest file accepted: two lines of about 60 characters each. */
    static final int MAX_CHARS = 4096;

    /**
     * One line of a pressure file.
     *
     * @param avg10 percent of the last 10 s
     * @param avg60 percent of the last 60 s
     * @param avg300 percent of the last 300 s
     * @param totalMicros cumulative stall time, microseconds
     */
    public record Line(double avg10, double avg60, double avg300, long totalMicros) {}

    /**
     * Parses a pressure file.
     *
     * @param text the file's content
     * @param source the file name for messages
     * @throws LoadProbeException when the {@code some} line is missing or a value is malformed
     */
    public static Pressure parse(String text, String source) throws LoadProbeException {
        if (text.length() > MAX_CHARS) {
            throw new LoadProbeException(source + ": " + text.length()
                    + " characters, expected at most " + MAX_CHARS);
        }
        Line some = null;
        Line full = null;
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\\s+");
            if (f[0].equals("some")) {
                some = parseLine(f, source, i + 1);
            } else if (f[0].equals("full")) {
                full = parseLine(f, source, i + 1);
            } else {
                throw new LoadProbeException(source + " line " + (i + 1)
                        + ": expected 'some' or 'full', found '" + DiskStats.abbreviate(f[0]) + "'");
            }
        }
        if (some == null) {
            throw new LoadProbeException(source + ": expected a 'some' line, found none");
        }
        return new Pressure(some, full);
    }

    private static Line parseLine(String[] f, String source, int lineNo) throws LoadProbeException {
        double avg10 = Double.NaN;
        double avg60 = Double.NaN;
        double avg300 = Double.NaN;
        long total = -1;
        for (int i = 1; i < f.length; i++) {
            int eq = f[i].indexOf('=');
            if (eq <= 0) {
                throw new LoadProbeException(source + " line " + lineNo
                        + ": expected key=value, found '" + DiskStats.abbreviate(f[i]) + "'");
            }
            String key = f[i].substring(0, eq);
            String value = f[i].substring(eq + 1);
            try {
                switch (key) {
                    case "avg10" -> avg10 = percent(value);
                    case "avg60" -> avg60 = percent(value);
                    case "avg300" -> avg300 = percent(value);
                    case "total" -> total = Long.parseLong(value);
                    default -> { } // newer kernels may add keys; ignore them
                }
            } catch (NumberFormatException e) {
                throw new LoadProbeException(source + " line " + lineNo + " " + key
                        + ": expected a number, found '" + DiskStats.abbreviate(value) + "'");
            }
        }
        if (Double.isNaN(avg10) || Double.isNaN(avg60) || Double.isNaN(avg300) || total < 0) {
            throw new LoadProbeException(source + " line " + lineNo
                    + ": expected avg10, avg60, avg300 and total, found '" + String.join(" ", f) + "'");
        }
        return new Line(avg10, avg60, avg300, total);
    }

    private static double percent(String value) {
        double v = Double.parseDouble(value);
        if (!(v >= 0 && v <= 100)) {
            throw new NumberFormatException(value);
        }
        return v;
    }
}
