package dev.coffer.agent.load;

/**
 * The knobs of the {@link IoGovernor}'s control law; {@link #defaults()} documents why each default
 * is what it is (see also {@code docs/scheduler.md}). Rates are bytes per second.
 *
 * @param periodMillis sampling and decision period, milliseconds
 * @param minRate floor of the backup read rate: never zero, so a backup on a controller that is
 *     always busy still finishes
 * @param maxRate ceiling of the rate (the policy cap can lower it at run time)
 * @param initialRate rate when the governor starts, before it has seen any load
 * @param additiveStep increase per period while foreground I/O is present but not hurt
 * @param decreaseFactor multiplier applied on congestion (0 &lt; f &lt; 1)
 * @param readInflationLimit foreground read await over its baseline that counts as congestion
 * @param writeInflationLimit foreground write await over its baseline that counts as congestion
 *     ({@link Double#POSITIVE_INFINITY} disables it)
 * @param cpuPressureLimit rise of the CPU stall share (some task waiting for a CPU) over its
 *     foreground-alone baseline that counts as congestion while foreground I/O is present (0..1]
 * @param psiOnlyIoLimit share of the period with some task stalled on I/O that counts as congestion
 *     when the datastore has no block device to watch (0..1)
 * @param foregroundIopsThreshold foreground operations per second from which foreground is "present"
 * @param baselineWindow the foreground-alone baseline is the minimum of this many most recent
 *     periods measured while the backup was (nearly) not reading
 * @param baselineTtlMillis how long a baseline stays valid without foreground I/O, milliseconds
 * @param rebaseIntervalMillis under continuous foreground, how often the rate dips to the floor for
 *     {@link #rebasePeriods} periods to re-measure the foreground-alone baseline, milliseconds
 * @param rebasePeriods length of that dip, periods
 * @param burstMillis token-bucket depth, as milliseconds of the current rate
 * @param historySize decisions kept for the API
 * @param window when backup I/O may run
 */
public record IoGovernorOptions(long periodMillis, long minRate, long maxRate, long initialRate,
        long additiveStep, double decreaseFactor, double readInflationLimit,
        double writeInflationLimit, double cpuPressureLimit, double psiOnlyIoLimit,
        double foregroundIopsThreshold, int baselineWindow, long baselineTtlMillis,
        long rebaseIntervalMillis, int rebasePeriods, long burstMillis, int historySize,
        IoWindow window) {

    /** One mebibyte per second. */
    public static final long MIB = 1L << 20;
    /** Decisions kept at most: 4 minutes of 100 ms periods. */
    static final int MAX_HISTORY = 2400;

    /** Validates every knob; a nonsensical value is a programmer error. */
    public IoGovernorOptions {
        require(periodMillis >= 10 && periodMillis <= 60_000, "periodMillis 10..60000", periodMillis);
        require(minRate >= 4096, "minRate >= 4096", minRate);
        require(maxRate >= minRate, "maxRate >= minRate", maxRate);
        require(initialRate >= minRate && initialRate <= maxRate, "minRate <= initialRate <= maxRate",
                initialRate);
        require(additiveStep > 0, "additiveStep > 0", additiveStep);
        require(decreaseFactor > 0 && decreaseFactor < 1, "0 < decreaseFactor < 1", decreaseFactor);
        require(readInflationLimit > 1, "readInflationLimit > 1", readInflationLimit);
        require(writeInflationLimit > 1, "writeInflationLimit > 1", writeInflationLimit);
        require(cpuPressureLimit > 0 && cpuPressureLimit <= 1, "0 < cpuPressureLimit <= 1",
                cpuPressureLimit);
        require(psiOnlyIoLimit > 0 && psiOnlyIoLimit <= 1, "0 < psiOnlyIoLimit <= 1", psiOnlyIoLimit);
        require(foregroundIopsThreshold >= 0, "foregroundIopsThreshold >= 0", foregroundIopsThreshold);
        require(baselineWindow >= 1 && baselineWindow <= 64, "baselineWindow 1..64", baselineWindow);
        require(baselineTtlMillis > 0, "baselineTtlMillis > 0", baselineTtlMillis);
        require(rebaseIntervalMillis > 0, "rebaseIntervalMillis > 0", rebaseIntervalMillis);
        require(rebasePeriods >= 1 && rebasePeriods <= 100, "rebasePeriods 1..100", rebasePeriods);
        require(burstMillis >= 1 && burstMillis <= 10_000, "burstMillis 1..10000", burstMillis);
        require(historySize >= 1 && historySize <= MAX_HISTORY, "historySize 1.." + MAX_HISTORY,
                historySize);
        if (window == null) {
            throw new IllegalArgumentException("window is required (IoWindow.ALWAYS for none)");
        }
    }

    /**
     * The defaults, with their reasons:
     * <ul>
     * <li>period 100 ms: reading diskstats and PSI costs ~30 us (0.03% of a core at this period),
     *     so the period is bounded by noise and reaction time, not cost. A foreground that starts
     *     while the backup runs at full speed suffers until the next decision; with fio's p99 as
     *     the yardstick, 1% of a 20 s run is 200 ms, so 250 ms periods were too slow (measured:
     *     docs/perf/load.md). At the 200-IOPS foreground threshold a period still holds 20
     *     completions per average;
     * <li>min 1 MiB/s: a backup under permanent load still moves ~86 GB a day, and 1 MiB/s of
     *     large sequential reads is a fraction of a percent of any disk's time;
     * <li>max unlimited: the policy cap and the device decide;
     * <li>initial 16 MiB/s: start gently, slow start reaches 1 GiB/s in 6 quiet periods (0.6 s);
     * <li>additive step 2 MiB/s per period (20 MiB/s per second): probing under foreground load is
     *     slow on purpose, each probe that overshoots costs the foreground a period of latency;
     * <li>decrease 0.5: TCP's classic factor, halves the excess within one period;
     * <li>read inflation 1.3: foreground read await 30% over its own baseline; the per-period
     *     average of a busy device moves by ~10% on its own (measured here, docs/perf/load.md);
     * <li>write inflation off (infinite): write await swings 3-16x on its own with writeback
     *     batches and flushes (measured here while other builds ran), so it would throttle the
     *     backup for nothing; foreground writes still count as foreground I/O;
     * <li>cpu 0.3: CPU stall share 30 points over its foreground-alone baseline (absolute CPU
     *     pressure on a shared host is dominated by others and says nothing about the backup);
     * <li>PSI-only io 0.3: without device counters the backup cannot tell its own stalls from
     *     others', so it keeps total I/O stall low;
     * <li>foreground threshold 200 IOPS: journal commits, logs, and the compilers of other users
     *     of this test machine made 30-160 IOPS of background here; a client workload worth
     *     protecting makes more (fio's 4 KiB random reads make 20 000-100 000);
     * <li>baseline = minimum of the last 10 foreground-alone periods (1 s of them), TTL 60 s,
     *     rebase every 30 s for 3 periods: LEDBAT (RFC 6817) takes its base delay as a minimum,
     *     robust to a few periods inflated by something else (here: a JVM starting, other users'
     *     builds), and LEDBAT++ (IETF draft) re-measures it by slowing down periodically;
     * <li>burst 100 ms: small enough that a backup cannot dump a second of reads at once;
     * <li>history 600: one minute of decisions.
     * </ul>
     */
    public static IoGovernorOptions defaults() {
        return new IoGovernorOptions(100, MIB, Long.MAX_VALUE, 16 * MIB, 2 * MIB, 0.5, 1.3,
                Double.POSITIVE_INFINITY, 0.3, 0.3, 200, 10, 60_000, 30_000, 3, 100, 600,
                IoWindow.ALWAYS);
    }

    /** These options with another rate range. */
    public IoGovernorOptions withRates(long min, long initial, long max) {
        return new IoGovernorOptions(periodMillis, min, max, initial, additiveStep, decreaseFactor,
                readInflationLimit, writeInflationLimit, cpuPressureLimit, psiOnlyIoLimit,
                foregroundIopsThreshold, baselineWindow, baselineTtlMillis, rebaseIntervalMillis,
                rebasePeriods, burstMillis, historySize, window);
    }

    /** These options with another period. */
    public IoGovernorOptions withPeriodMillis(long period) {
        return new IoGovernorOptions(period, minRate, maxRate, initialRate, additiveStep,
                decreaseFactor, readInflationLimit, writeInflationLimit, cpuPressureLimit,
                psiOnlyIoLimit, foregroundIopsThreshold, baselineWindow, baselineTtlMillis,
                rebaseIntervalMillis, rebasePeriods, burstMillis, historySize, window);
    }

    /** These options with another additive step. */
    public IoGovernorOptions withAdditiveStep(long step) {
        return new IoGovernorOptions(periodMillis, minRate, maxRate, initialRate, step,
                decreaseFactor, readInflationLimit, writeInflationLimit, cpuPressureLimit,
                psiOnlyIoLimit, foregroundIopsThreshold, baselineWindow, baselineTtlMillis,
                rebaseIntervalMillis, rebasePeriods, burstMillis, historySize, window);
    }

    /** These options with another window. */
    public IoGovernorOptions withWindow(IoWindow w) {
        return new IoGovernorOptions(periodMillis, minRate, maxRate, initialRate, additiveStep,
                decreaseFactor, readInflationLimit, writeInflationLimit, cpuPressureLimit,
                psiOnlyIoLimit, foregroundIopsThreshold, baselineWindow, baselineTtlMillis,
                rebaseIntervalMillis, rebasePeriods, burstMillis, historySize, w);
    }

    private static void require(boolean ok, String what, Object found) {
        if (!ok) {
            throw new IllegalArgumentException("IoGovernorOptions: expected " + what + ", found " + found);
        }
    }
}
