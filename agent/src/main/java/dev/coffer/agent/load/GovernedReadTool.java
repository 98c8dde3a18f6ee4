package dev.coffer.agent.load;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A backup-shaped sequential reader for load tests ({@code scripts/bench-load}): it reads a file in
 * a loop exactly as the backup readers do (idle I/O class, {@link NativeFile} with drop-behind,
 * every read through {@link IoGovernor#acquire}) and prints its progress and the governor's
 * decisions, so that its rate can be set against a foreground workload's latency.
 *
 * <p>Usage: {@code GovernedReadTool FILE SECONDS governed|unthrottled [CHUNK_KIB] [REPORT_MS]}.
 * Output lines: {@code start_epoch_ms=...} when reading starts, {@code t_ms=... bytes=... rate=...
 * action=... fg_iops=... read_infl=...} every report period, then
 * {@code done bytes=... seconds=... mib_per_s=...}.
 */
public final class GovernedReadTool {
    /** Default read size: 1 MiB, the backup's block size. */
    static final int DEFAULT_CHUNK_KIB = 1024;

    private GovernedReadTool() {}

    /** Runs the reader; exit code 0 on success, 2 on bad arguments, 1 on I/O failure. */
    public static void main(String[] args) throws Exception {
        if (args.length < 3 || !(args[2].equals("governed") || args[2].equals("unthrottled"))) {
            System.err.println("usage: GovernedReadTool FILE SECONDS governed|unthrottled"
                    + " [CHUNK_KIB] [REPORT_MS]");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        double seconds = Double.parseDouble(args[1]);
        boolean governed = args[2].equals("governed");
        int chunkKib = args.length > 3 ? Integer.parseInt(args[3]) : DEFAULT_CHUNK_KIB;
        long reportMs = args.length > 4 ? Long.parseLong(args[4]) : 250;
        try {
            run(file, seconds, governed, chunkKib, reportMs, System.out);
        } catch (IOException e) {
            System.err.println("GovernedReadTool: " + e.getMessage());
            System.exit(1);
        }
    }

    /**
     * Reads {@code file} in a loop for {@code seconds}, printing progress every {@code reportMs}.
     *
     * @return bytes read
     */
    static long run(Path file, double seconds, boolean governed, int chunkKib, long reportMs,
            PrintStream out) throws IOException, InterruptedException {
        MonotonicClock clock = MonotonicClock.system();
        DeviceSet devices = DeviceResolver.system().resolve(file);
        out.println("devices " + devices.devices() + " fs=" + devices.fsType() + " note=\""
                + devices.note() + "\"");
        IoGovernor governor = governed ? new IoGovernor(IoGovernorOptions.defaults(),
                ProcLoadProbe.forDevices(devices, clock), clock) : null;
        if (governor != null) {
            governor.start();
        }
        try {
            return readLoop(file, seconds, governor, chunkKib * 1024, reportMs, out, clock);
        } finally {
            if (governor != null) {
                governor.stop();
            }
        }
    }

    /**
     * The backup reader's loop: idle I/O class, positional reads through the governor, page cache
     * dropped behind each read, wrapping at the end of the file until {@code seconds} have passed.
     *
     * @param governor the governor, or null for an unthrottled reader
     * @return bytes read
     */
    static long readLoop(Path file, double seconds, IoGovernor governor, int chunk, long reportMs,
            PrintStream out, MonotonicClock clock) throws IOException, InterruptedException {
        IoPriority.setIdleForCurrentThread();
        out.println("start_epoch_ms=" + System.currentTimeMillis());
        long start = clock.nanoTime();
        long end = start + (long) (seconds * 1e9);
        long nextReport = start + reportMs * 1_000_000L;
        long total = 0;
        try (NativeFile f = NativeFile.open(file)) {
            PageCache.adviseSequential(f.fd());
            ByteBuffer buf = ByteBuffer.allocateDirect(chunk);
            long pos = 0;
            while (true) {
                long now = clock.nanoTime();
                if (now >= nextReport) {
                    report(out, (now - start) / 1_000_000L, total, governor);
                    nextReport += reportMs * 1_000_000L;
                }
                if (now >= end) {
                    break;
                }
                int size = chunk;
                if (governor != null) {
                    boolean fg = governor.foregroundActive();
                    f.adviseForeground(fg);
                    size = fg ? Math.min(chunk, IoGovernor.FOREGROUND_READ_BYTES) : chunk;
                    governor.acquire(size);
                }
                buf.clear().limit(size);
                int n = f.read(buf, pos);
                if (n < 0) {
                    f.dropBehind(0, 0); // the whole file, tail included
                    pos = 0;
                    continue;
                }
                pos += n;
                f.dropBehindUpTo(pos);
                total += n;
            }
        }
        double secs = (clock.nanoTime() - start) / 1e9;
        out.printf(Locale.ROOT, "done bytes=%d seconds=%.3f mib_per_s=%.1f%n", total, secs,
                total / secs / (1 << 20));
        return total;
    }

    private static void report(PrintStream out, long tMs, long total, IoGovernor governor) {
        if (governor == null) {
            out.printf(Locale.ROOT, "t_ms=%d bytes=%d%n", tMs, total);
            return;
        }
        Decision d = governor.decision();
        Decision.Signals s = d.signals();
        out.printf(Locale.ROOT,
                "t_ms=%d bytes=%d rate=%d action=%s fg_iops=%.0f read_await_ms=%.4f base_ms=%.4f"
                        + " read_infl=%.2f util=%.0f req=%d cpu_some=%.2f io_some=%.2f%n",
                tMs, total, d.rateBytesPerSecond(), d.action(), s.foregroundIops(), s.readAwaitMs(),
                s.baselineReadAwaitMs(), s.readInflation(), s.utilisationPercent(),
                s.backupRequestBytes(), s.cpuSomeShare(), s.ioSomeShare());
    }
}
