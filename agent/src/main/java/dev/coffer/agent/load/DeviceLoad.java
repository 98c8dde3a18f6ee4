package dev.coffer.agent.load;

/**
 * What one block device did during one sampling interval, from two {@code /proc/diskstats}
 * readings.
 *
 * @param name kernel device name
 * @param readIos reads completed in the interval
 * @param writeIos writes completed in the interval
 * @param readBytes bytes read in the interval
 * @param writeBytes bytes written in the interval
 * @param readTicksMs milliseconds spent by the interval's reads, summed over requests
 * @param writeTicksMs milliseconds spent by the interval's writes, summed over requests
 * @param utilisationPercent share of the interval with at least one I/O in flight, 0..100
 * @param avgQueueDepth average number of I/Os in flight over the interval
 * @param readAwaitMs average read latency (queue + service), milliseconds; 0 without reads
 * @param writeAwaitMs average write latency, milliseconds; 0 without writes
 */
public record DeviceLoad(String name, long readIos, long writeIos, long readBytes, long writeBytes,
        long readTicksMs, long writeTicksMs, double utilisationPercent, double avgQueueDepth,
        double readAwaitMs, double writeAwaitMs) {

    /**
     * Computes one device's load from two readings {@code intervalNanos} apart.
     *
     * @param before the earlier reading
     * @param after the later reading
     * @param intervalNanos the time between them, nanoseconds (&gt; 0)
     */
    public static DeviceLoad between(DiskStats before, DiskStats after, long intervalNanos) {
        long rIos = DiskStats.delta(before.readIos(), after.readIos());
        long wIos = DiskStats.delta(before.writeIos(), after.writeIos());
        long rTicks = DiskStats.delta(before.readTicksMs(), after.readTicksMs());
        long wTicks = DiskStats.delta(before.writeTicksMs(), after.writeTicksMs());
        double intervalMs = Math.max(1, intervalNanos) / 1e6;
        double util = Math.min(100.0,
                100.0 * DiskStats.delta(before.ioTicksMs(), after.ioTicksMs()) / intervalMs);
        double queue = DiskStats.delta(before.weightedTicksMs(), after.weightedTicksMs()) / intervalMs;
        return new DeviceLoad(after.name(), rIos, wIos,
                sectorsToBytes(DiskStats.delta(before.readSectors(), after.readSectors())),
                sectorsToBytes(DiskStats.delta(before.writeSectors(), after.writeSectors())),
                rTicks, wTicks, util, queue,
                rIos == 0 ? 0 : (double) rTicks / rIos, wIos == 0 ? 0 : (double) wTicks / wIos);
    }

    private static long sectorsToBytes(long sectors) {
        // a delta this large would be 4 EiB in one interval: saturate instead of overflowing
        return sectors > Long.MAX_VALUE / DiskStats.SECTOR_BYTES ? Long.MAX_VALUE
                : sectors * DiskStats.SECTOR_BYTES;
    }
}
