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
    private final Path proc;
    private final List<BlockDevice> devices;
    private final MonotonicClock clock;
    private final String baseNote;

    private long lastNanos;
    private Map<String, DiskStats> lastDisks;
    private Pressure lastIo;
    private Pressure lastCpu;

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
        lastNanos = now;
        return new LoadSample(clock.instant(), interval, loads, ioDelta, cpuDelta,
                String.join("; ", notes));
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
