package dev.coffer.agent.load;

import java.time.Instant;

/**
 * What the {@link IoGovernor} decided at the end of one period and why: the rate it set, the
 * signals it saw and a one-line reason. Exposed as-is by the metrics and the query API.
 *
 * @param at wall-clock time of the decision
 * @param rateBytesPerSecond the backup read rate from now on, bytes/s
 * @param previousRateBytesPerSecond the rate before this decision, bytes/s
 * @param action the kind of change
 * @param reason why, in words, with the numbers that decided it
 * @param signals what the governor measured over the period
 * @param grantedBytesTotal bytes handed to readers since the governor was created
 * @param waitNanosTotal time readers spent blocked in {@code acquire} since creation, nanoseconds
 */
public record Decision(Instant at, long rateBytesPerSecond, long previousRateBytesPerSecond,
        Action action, String reason, Signals signals, long grantedBytesTotal, long waitNanosTotal) {

    /** The kind of rate change. */
    public enum Action {
        /** The governor was created; no sample yet. */
        START,
        /** No foreground I/O: the rate doubles each period (TCP-like slow start). */
        SLOW_START,
        /** Foreground I/O present but not hurt: the rate grows by the additive step. */
        INCREASE,
        /** Nothing to change (the readers do not use their allowance, or already at a bound). */
        HOLD,
        /** Foreground I/O is hurt: the rate is multiplied by the decrease factor. */
        DECREASE,
        /** Foreground I/O just appeared: the rate drops to the floor while its baseline is learned. */
        YIELD,
        /** A periodic dip to the floor to re-measure the foreground-alone baseline. */
        REBASE,
        /** Outside the window, or paused through the API: readers are blocked. */
        PAUSED,
        /** The load could not be measured: the rate drops to the floor until it can. */
        PROBE_FAILED
    }

    /**
     * The signals behind a decision, all over the last period.
     *
     * @param foregroundIops operations per second that were not the backup's (reads and writes)
     * @param foregroundActive whether that is above the foreground threshold
     * @param backupBytesPerSecond bytes/s the readers took from the governor
     * @param deviceReadBytesPerSecond bytes/s read from the watched devices by everyone
     * @param backupRequestBytes the learnt size of the backup's device requests, bytes
     * @param readAwaitMs average read latency on the devices, ms
     * @param baselineReadAwaitMs foreground-alone read latency, ms (0 while unknown)
     * @param writeAwaitMs average write latency on the devices, ms
     * @param baselineWriteAwaitMs foreground-alone write latency, ms (0 while unknown)
     * @param readInflation {@code readAwaitMs / baselineReadAwaitMs} (0 while unknown)
     * @param writeInflation {@code writeAwaitMs / baselineWriteAwaitMs} (0 while unknown)
     * @param utilisationPercent busiest device's utilisation, percent
     * @param queueDepth deepest device's average queue depth
     * @param ioSomeShare share of the period with some task stalled on I/O, 0..1
     * @param ioFullShare share of the period with all non-idle tasks stalled on I/O, 0..1
     * @param cpuSomeShare share of the period with some task waiting for a CPU, 0..1
     * @param psiOnly true when the datastore has no block device and only PSI is used
     */
    public record Signals(double foregroundIops, boolean foregroundActive,
            double backupBytesPerSecond, double deviceReadBytesPerSecond, long backupRequestBytes,
            double readAwaitMs, double baselineReadAwaitMs, double writeAwaitMs,
            double baselineWriteAwaitMs, double readInflation, double writeInflation,
            double utilisationPercent, double queueDepth, double ioSomeShare, double ioFullShare,
            double cpuSomeShare, boolean psiOnly) {
        /** Signals of a period in which nothing was measured. */
        public static final Signals NONE = new Signals(0, false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, false);
    }
}
