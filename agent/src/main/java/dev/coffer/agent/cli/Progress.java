package dev.coffer.agent.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A one-line progress display for long operations on a terminal: a bar, done/total, the rate and
 * the ETA, redrawn on stderr a few times a second. On anything but a terminal it prints nothing, so
 * scripts and logs stay clean.
 */
public final class Progress implements AutoCloseable {
    /** Redraw period: fast enough to look live, slow enough to cost nothing. */
    private static final long REDRAW_MILLIS = 200;

    /** What a progress line shows; read from the worker threads' counters each redraw. */
    public record Snapshot(long done, long total, String detail) {}

    private final PrintStream err;
    private final String label;
    private final Supplier<Snapshot> source;
    private final ScheduledExecutorService timer;
    private final long startNanos = System.nanoTime();
    private int lastWidth;

    private Progress(PrintStream err, String label, Supplier<Snapshot> source, boolean enabled) {
        this.err = err;
        this.label = label;
        this.source = source;
        if (enabled) {
            timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "progress");
                t.setDaemon(true);
                return t;
            });
            timer.scheduleAtFixedRate(this::redraw, REDRAW_MILLIS, REDRAW_MILLIS, TimeUnit.MILLISECONDS);
        } else {
            timer = null;
        }
    }

    /**
     * Starts a progress line on stderr when stderr is a terminal (and {@code COFFER_PROGRESS} is not
     * {@code 0}); {@code COFFER_PROGRESS=1} forces it on.
     */
    public static Progress start(String label, Supplier<Snapshot> source) {
        String env = System.getenv("COFFER_PROGRESS");
        boolean tty = System.console() != null;
        boolean on = "1".equals(env) || (tty && !"0".equals(env));
        return new Progress(System.err, label, source, on);
    }

    /** Whether a line is being drawn. */
    public boolean enabled() {
        return timer != null;
    }

    private synchronized void redraw() {
        Snapshot s = source.get();
        String line = render(label, s, (System.nanoTime() - startNanos) / 1e9);
        StringBuilder sb = new StringBuilder("\r").append(line);
        if (line.length() < lastWidth) {
            sb.append(" ".repeat(lastWidth - line.length()));
        }
        lastWidth = line.length();
        err.print(sb);
        err.flush();
    }

    /** The text of one progress line (package-visible for tests). */
    static String render(String label, Snapshot s, double seconds) {
        double frac = s.total() > 0 ? Math.min(1.0, (double) s.done() / s.total()) : 0;
        int width = 24;
        int filled = (int) Math.round(frac * width);
        String bar = "#".repeat(filled) + "-".repeat(width - filled);
        double rate = seconds > 0 ? s.done() / seconds : 0;
        String eta = rate > 0 && s.total() > s.done()
                ? formatDuration((s.total() - s.done()) / rate) : "--";
        return String.format(Locale.ROOT, "%s [%s] %3.0f%% %s/%s %s/s ETA %s%s", label, bar, frac * 100,
                Table.bytes(s.done()), Table.bytes(s.total()), Table.bytes((long) rate), eta,
                s.detail() == null || s.detail().isEmpty() ? "" : "  " + s.detail());
    }

    static String formatDuration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    /** Stops redrawing and clears the line. */
    @Override
    public synchronized void close() {
        if (timer == null) {
            return;
        }
        timer.shutdownNow();
        err.print("\r" + " ".repeat(lastWidth) + "\r");
        err.flush();
    }
}
