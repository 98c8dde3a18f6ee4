package dev.coffer.agent.load;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The real {@link LoadProbe}: reads {@code /proc/diskstats} for the datastore's devices and
 * {@code /proc/pressure/io} and {@code /proc/pressure/cpu} where the kernel has them, and returns
 * the deltas since the previous reading.
 *
 * <p>One reading costs three small file reads (about 30 microseconds here), so sampling four times a
 * second is free. Not thread-safe: one governor thread owns it.
 */
public final class ProcLoadProbe implements LoadProbe {
    /** Lines of {@code /proc/self/io} looked at: it has 7 (Linux 2.6.20 to 6.x). */
    static final int MAX_IO_LINES = 32;

    private final Path proc;
    private final List<BlockDevice> devices;
    private final MonotonicClock clock;
    private final String baseNote;

    private long lastNanos;
    private Map<String, DiskStats> lastDisks;
    private Pressure lastIo;
    private Pressure lastCpu;
    private long lastOwnReadBytes;

    /**
     * A probe over {@code devices}, reading the given proc root; takes its first reading now.
     *
     * @param proc the proc root (normally {@code /proc}); tests pass a directory of captured files
     * @param devices the devices to watch (may be empty: then only pressure is measured)
     * @param clock the time source for interval lengths
     * @throws IOException when {@code diskstats} cannot be read or parsed
     */
    public ProcLoadProbe(Path proc, List<BlockDevice> devices, MonotonicClock clock)
            throws IOException {
        this.proc = proc;
        this.devices = List.copyOf(devices);
        this.clock = clock;
        this.lastDisks = readDisks();
        this.lastIo = readPressure("io");
        this.lastCpu = readPressure("cpu");
        this.lastOwnReadBytes = readOwnReadBytes();
        this.lastNanos = clock.nanoTime();
        List<String> notes = new ArrayList<>();
        if (this.devices.isEmpty()) {
            notes.add("no block devices: pressure-stall information only");
        }
        if (lastIo == null) {
            notes.add(proc.resolve("pressure/io") + " absent");
        }
        if (lastCpu == null) {
            notes.add(proc.resolve("pressure/cpu") + " absent");
        }
        this.baseNote = String.join("; ", notes);
    }

    /** A probe over this machine's {@code /proc} for the devices of {@code set}. */
    public static ProcLoadProbe forDevices(DeviceSet set, MonotonicClock clock) throws IOException {
        return new ProcLoadProbe(Path.of("/proc"), set.devices(), clock);
    }

    @Override
    public LoadSample sample() throws IOException {
        Map<String, DiskStats> disks = readDisks();
        Pressure io = readPressure("io");
        Pressure cpu = readPressure("cpu");
        long own = readOwnReadBytes();
        long now = clock.nanoTime();
        long interval = Math.max(0, now - lastNanos);
        List<DeviceLoad> loads = new ArrayList<>(devices.size());
        List<String> notes = new ArrayList<>();
        if (!baseNote.isEmpty()) {
            notes.add(baseNote);
        }
        for (BlockDevice d : devices) {
            DiskStats before = lastDisks.get(d.devNo());
            DiskStats after = disks.get(d.devNo());
            if (before == null || after == null) {
                notes.add(d.name() + " (" + d.devNo() + ") missing from diskstats");
                continue;
            }
            loads.add(DeviceLoad.between(before, after, interval));
        }
        PressureDelta ioDelta = lastIo != null && io != null ? PressureDelta.between(lastIo, io)
                : PressureDelta.ABSENT;
        PressureDelta cpuDelta = lastCpu != null && cpu != null ? PressureDelta.between(lastCpu, cpu)
                : PressureDelta.ABSENT;
        lastDisks = disks;
        lastIo = io;
        lastCpu = cpu;
        long ownDelta = own >= 0 && lastOwnReadBytes >= 0 && own >= lastOwnReadBytes
                ? own - lastOwnReadBytes : -1;
        lastOwnReadBytes = own;
        lastNanos = now;
        return new LoadSample(clock.instant(), interval, loads, ioDelta, cpuDelta,
                String.join("; ", notes), ownDelta);
    }

    /**
     * This process's cumulative {@code read_bytes} from {@code PROC/self/io}, or -1 when the file is
     * absent or unreadable (no task I/O accounting, or a captured proc tree without it): the governor
     * then falls back on the bytes it granted.
     */
    private long readOwnReadBytes() throws LoadProbeException {
        Path file = proc.resolve("self").resolve("io");
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return -1;
        }
        return parseReadBytes(text, file.toString());
    }

    /**
     * The {@code read_bytes} field of a {@code /proc/PID/io} text.
     *
     * @throws LoadProbeException naming {@code source} and the line when the field is missing,
     *     malformed or negative
     */
    static long parseReadBytes(String text, String source) throws LoadProbeException {
        String[] lines = text.split("\n", MAX_IO_LINES + 1);
        for (int i = 0; i < Math.min(lines.length, MAX_IO_LINES); i++) {
            String line = lines[i];
            if (line.startsWith("read_bytes:")) {
                String v = line.substring("read_bytes:".length()).trim();
                try {
                    long n = Long.parseLong(v);
                    if (n >= 0) {
                        return n;
                    }
                } catch (NumberFormatException e) {
                    // reported below
                }
                throw new LoadProbeException(source + ": line " + (i + 1)
                        + ": read_bytes: expected a non-negative integer, found '" + v + "'");
            }
        }
        throw new LoadProbeException(source + ": expected a read_bytes line within the first "
                + MAX_IO_LINES + " lines, found none");
    }

    private Map<String, DiskStats> readDisks() throws IOException {
        Path file = proc.resolve("diskstats");
        if (devices.isEmpty()) {
            return Map.of();
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new LoadProbeException(file + ": cannot read: " + e.getMessage(), e);
        }
        Map<String, DiskStats> out = new HashMap<>();
        for (DiskStats s : DiskStats.parseAll(text, file.toString())) {
            out.put(s.devNo(), s);
        }
        return out;
    }

    private Pressure readPressure(String resource) throws IOException {
        Path file = proc.resolve("pressure").resolve(resource);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            // PSI compiled in but disabled (psi=0) makes the read fail with EOPNOTSUPP
            return null;
        }
        return Pressure.parse(text, file.toString());
    }
}
