package dev.coffer.agent.load;

import java.time.Instant;
import java.util.List;

/**
 * The controller's load over one sampling interval: every watched device plus I/O and CPU
 * pressure. Produced by a {@link LoadProbe}, consumed by the {@link IoGovernor}.
 *
 * @param at wall-clock end of the interval
 * @param intervalNanos length of the interval, nanoseconds
 * @param devices per-device load, in the order of the probe's device list
 * @param io I/O pressure ({@code /proc/pressure/io}), {@link PressureDelta#ABSENT} when missing
 * @param cpu CPU pressure ({@code /proc/pressure/cpu}), {@link PressureDelta#ABSENT} when missing
 * @param note anything the probe wants shown with decisions (missing files, vanished devices)
 * @param ownReadBytes bytes this process itself caused to be read from storage in the interval
 *     ({@code read_bytes} of {@code /proc/self/io}: counted when the kernel submits the request,
 *     read-ahead included, page-cache hits excluded), or -1 when unknown
 */
public record LoadSample(Instant at, long intervalNanos, List<DeviceLoad> devices, PressureDelta io,
        PressureDelta cpu, String note, long ownReadBytes) {
    /** A defensive copy of the device list. */
    public LoadSample {
        devices = List.copyOf(devices);
        if (ownReadBytes < -1) {
            throw new IllegalArgumentException("ownReadBytes must be >= -1, found " + ownReadBytes);
        }
    }

    /** A sample that does not know this process's own reads ({@code ownReadBytes} -1). */
    public LoadSample(Instant at, long intervalNanos, List<DeviceLoad> devices, PressureDelta io,
            PressureDelta cpu, String note) {
        this(at, intervalNanos, devices, io, cpu, note, -1);
    }

    /** Reads completed on all devices in the interval. */
    public long readIos() {
        return devices.stream().mapToLong(DeviceLoad::readIos).sum();
    }

    /** Writes completed on all devices in the interval. */
    public long writeIos() {
        return devices.stream().mapToLong(DeviceLoad::writeIos).sum();
    }

    /** Bytes read from all devices in the interval. */
    public long readBytes() {
        return devices.stream().mapToLong(DeviceLoad::readBytes).sum();
    }

    /** Bytes written to all devices in the interval. */
    public long writeBytes() {
        return devices.stream().mapToLong(DeviceLoad::writeBytes).sum();
    }

    /** Average read latency over all devices' reads, milliseconds (0 without reads). */
    public double readAwaitMs() {
        long ios = readIos();
        return ios == 0 ? 0 : (double) devices.stream().mapToLong(DeviceLoad::readTicksMs).sum() / ios;
    }

    /** Average write latency over all devices' writes, milliseconds (0 without writes). */
    public double writeAwaitMs() {
        long ios = writeIos();
        return ios == 0 ? 0 : (double) devices.stream().mapToLong(DeviceLoad::writeTicksMs).sum() / ios;
    }

    /** The busiest device's utilisation, percent. */
    public double maxUtilisationPercent() {
        return devices.stream().mapToDouble(DeviceLoad::utilisationPercent).max().orElse(0);
    }

    /** The deepest device queue, average I/Os in flight. */
    public double maxQueueDepth() {
        return devices.stream().mapToDouble(DeviceLoad::avgQueueDepth).max().orElse(0);
    }
}
