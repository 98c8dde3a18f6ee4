package dev.coffer.agent.load;

/**
 * Pressure-stall information over one sampling interval: the kernel's 10-second averages at the end
 * of the interval and the stall time accumulated during it.
 *
 * @param available false when the kernel has no such pressure file (then every other field is 0)
 * @param someAvg10 percent of the last 10 s with some task stalled
 * @param fullAvg10 percent of the last 10 s with all non-idle tasks stalled (0 when not reported)
 * @param someStallMicros stall time of "some" during the interval, microseconds
 * @param fullStallMicros stall time of "full" during the interval, microseconds
 */
public record PressureDelta(boolean available, double someAvg10, double fullAvg10,
        long someStallMicros, long fullStallMicros) {

    /** The value used when the kernel has no pressure file (PSI disabled, or before 4.20). */
    public static final PressureDelta ABSENT = new PressureDelta(false, 0, 0, 0, 0);

    /** The delta between two readings of the same file. */
    public static PressureDelta between(Pressure before, Pressure after) {
        long full = 0;
        if (before.full() != null && after.full() != null) {
            full = DiskStats.delta(before.full().totalMicros(), after.full().totalMicros());
        }
        return new PressureDelta(true, after.some().avg10(),
                after.full() == null ? 0 : after.full().avg10(),
                DiskStats.delta(before.some().totalMicros(), after.some().totalMicros()), full);
    }

    /** The share of {@code intervalNanos} during which some task was stalled, 0..1. */
    public double someShare(long intervalNanos) {
        return intervalNanos <= 0 ? 0 : Math.min(1.0, someStallMicros * 1000.0 / intervalNanos);
    }

    /** The share of {@code intervalNanos} during which all non-idle tasks were stalled, 0..1. */
    public double fullShare(long intervalNanos) {
        return intervalNanos <= 0 ? 0 : Math.min(1.0, fullStallMicros * 1000.0 / intervalNanos);
    }
}
