package dev.coffer.agent.load;

import dev.coffer.agent.load.Decision.Action;
import dev.coffer.agent.load.Decision.Signals;
import java.util.Locale;

/**
 * The control law of the {@link IoGovernor}, free of threads and clocks: given one period's
 * {@link LoadSample} and the bytes the backup took in that period, it sets the next rate.
 * The law and the reasons for its constants are in {@code docs/scheduler.md}. Not thread-safe; the
 * governor calls it under its lock.
 */
final class AimdController {
    /** Smallest backup request size believed: one page. */
    static final long MIN_REQUEST_BYTES = 4096;
    /** Largest backup request size believed; Linux caps max_sectors_kb far below this. */
    static final long MAX_REQUEST_BYTES = 64L << 20;
    /** Request size assumed before any quiet period measured it: the kernel's default readahead. */
    static final long INITIAL_REQUEST_BYTES = 128 << 10;
    /** Decay per period of the learnt request size (halves in ~3 minutes at 250 ms). */
    static final double REQUEST_SIZE_DECAY = 0.999;
    /** Bytes the backup must have read in a period to teach the request size. */
    static final long CALIBRATION_MIN_BYTES = 256 << 10;
    /** Foreground operations a period needs before its average await is trusted. */
    static final long MIN_IOS_FOR_AWAIT = 10;
    /** The backup counts as idle (baseline may be learnt) below this multiple of the floor rate. */
    static final double IDLE_BACKUP_FLOOR_MULTIPLE = 2.0;
    /**
     * Share of the backup's estimated request count that a foreground must exceed besides the
     * threshold, for large reads with read-ahead: the kernel's request sizes vary around the learnt
     * one (read-ahead ramps after a seek or wrap, extent ends), so the estimate is uncertain by this
     * much. At 1.6 GB/s in 4 MiB requests (40 per 100 ms) that is 20 requests a period: well under
     * any foreground worth protecting from a full-speed backup (fio's 4 KiB reads: 2 000-10 000).
     */
    static final double LARGE_READ_COUNT_UNCERTAINTY = 0.5;
    /** The same for small reads without read-ahead: each read is one request of a known size. */
    static final double SMALL_READ_COUNT_UNCERTAINTY = 0.1;
    /**
     * A foreground this many times the threshold is believed in its first period; a smaller one
     * must be seen in {@link #CONFIRM_PERIODS} periods in a row. Other users' bursts (a build
     * reading its jars, a journal commit) made 200-1 300 IOPS for one period here and each cost a
     * yield and a second of slow start; a foreground of 5x the threshold is not a blip, and
     * waiting a period for it would let a full-speed backup spoil 0.5% of its requests.
     */
    static final double IMMEDIATE_FOREGROUND_MULTIPLE = 5.0;
    /** Periods in a row a moderate foreground must be seen before the governor yields to it. */
    static final int CONFIRM_PERIODS = 2;
    /**
     * Quiet periods in a row after a foreground before the rate goes straight back to what it was
     * when the foreground appeared (instead of slow start from the floor, ~1 s to 1 GB/s and lost
     * again at every spurious yield): one quiet period can be a gap in a foreground, two rarely.
     */
    static final int RESTORE_QUIET_PERIODS = 2;
    /**
     * Under foreground I/O the backup issues at most this share of the foreground's request rate
     * (in {@link IoGovernor#FOREGROUND_READ_BYTES} reads): its tail budget. A foreground request
     * that arrives while a backup read is in service waits for it, so the backup's requests spoil
     * roughly (their share) x (the foreground's queue depth) of the foreground's: 0.1% at fio's
     * depth 4 keeps that at 0.4%, well under the 1% that is fio's p99 (0.2%, i.e. 0.8%, left fio's
     * p99 1.22x of alone in the median of three runs). Average await cannot see this: at 30 MiB/s (480
     * reads/s beside 70 000 IOPS) it rose less than 1.3x while fio's p99 rose 1.45x
     * (docs/perf/load.md).
     */
    static final double TAIL_REQUEST_SHARE = 0.001;
    /** Read inflation of this multiple of the limit sends the rate to the floor at once. */
    static final double SEVERE_INFLATION_MULTIPLE = 2.0;

    private final IoGovernorOptions o;

    long rate;
    private double requestBytes = INITIAL_REQUEST_BYTES;
    private final MinWindow readWindow;
    private final MinWindow writeWindow;
    private final MinWindow cpuWindow;
    private double readBaseline;
    private double writeBaseline;
    private double cpuBaseline = -1;
    private boolean foregroundBefore;
    private long lastForegroundNanos = Long.MIN_VALUE;
    private long lastBaselineNanos = Long.MIN_VALUE;
    private int rebaseLeft;
    private boolean yieldDip;
    private long rateBeforeRebase;
    private int seenPeriods;
    private int quietPeriods;
    /** The rate when the current foreground appeared, restored when it leaves; 0 = none. */
    private long restoreRate;

    AimdController(IoGovernorOptions options) {
        this.o = options;
        this.rate = options.initialRate();
        this.readWindow = new MinWindow(options.baselineWindow());
        this.writeWindow = new MinWindow(options.baselineWindow());
        this.cpuWindow = new MinWindow(options.baselineWindow());
    }

    /** The minimum of the last {@code size} values offered: a baseline robust to outliers. */
    static final class MinWindow {
        private final double[] values;
        private int count;
        private int next;

        MinWindow(int size) {
            values = new double[size];
        }

        double add(double v) {
            values[next] = v;
            next = (next + 1) % values.length;
            count = Math.min(count + 1, values.length);
            double min = Double.MAX_VALUE;
            for (int i = 0; i < count; i++) {
                min = Math.min(min, values[i]);
            }
            return min;
        }

        void clear() {
            count = 0;
            next = 0;
        }
    }

    /**
     * Decides the next rate.
     *
     * @param s the period's load
     * @param backupBytes bytes the readers took from the governor during the period
     * @param nowNanos monotonic time of the decision
     * @param demand whether some reader had to wait for tokens during the period (the rate, not the
     *     readers, limited the backup): without it the rate is not raised
     * @param ceiling the effective maximum rate (options' max, lowered by the policy cap)
     * @return the new rate, the action, the reason and the signals (without totals)
     */
    Decision decide(LoadSample s, long backupBytes, boolean demand, long nowNanos, long ceiling) {
        return decide(s, backupBytes, demand, false, nowNanos, ceiling);
    }

    /**
     * Decides the next rate, knowing whether the readers were asked for small reads without
     * read-ahead during the period ({@code smallReads}): then each of their reads is one device
     * request of at most {@link IoGovernor#FOREGROUND_READ_BYTES}, and counting them with the
     * read-ahead request size learnt in quiet periods would invent foreground I/O (at 20 MiB/s,
     * 320 requests a second that are the backup's own).
     */
    Decision decide(LoadSample s, long backupBytes, boolean demand, boolean smallReads,
            long nowNanos, long ceiling) {
        long before = rate;
        long dt = s.intervalNanos();
        if (dt <= 0) {
            return decision(s, before, Action.HOLD, "empty period", Signals.NONE);
        }
        double seconds = dt / 1e9;
        double backupRate = backupBytes / seconds;
        boolean psiOnly = s.devices().isEmpty();
        double ioSome = s.io().someShare(dt);
        double ioFull = s.io().fullShare(dt);
        double cpuSome = s.cpu().someShare(dt);

        if (psiOnly) {
            Signals sig = new Signals(0, false, backupRate, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ioSome,
                    ioFull, cpuSome, true);
            if (ioSome >= o.psiOnlyIoLimit() || cpuSome >= o.cpuPressureLimit()) {
                return decrease(s, before, backupRate, ceiling, sig, String.format(Locale.ROOT,
                        "no block device; pressure io some %.0f%% (limit %.0f%%), cpu some %.0f%%",
                        100 * ioSome, 100 * o.psiOnlyIoLimit(), 100 * cpuSome));
            }
            return increase(s, before, demand, ceiling, sig, Action.INCREASE, String.format(
                    Locale.ROOT, "no block device; pressure io some %.0f%% below %.0f%%",
                    100 * ioSome, 100 * o.psiOnlyIoLimit()));
        }

        // Separate the backup's share of the device reads from everybody else's. The governor knows
        // the bytes it granted; the kernel reads them (read-ahead, drop-behind) in requests of a size
        // learnt from periods where the backup's bytes explain all device reads: bytes/ios is
        // at most the backup's request size, and equal to it when nobody else reads.
        long readIos = s.readIos();
        long readBytes = s.readBytes();
        // what the process really had read from storage (read-ahead included, page-cache hits not,
        // counted at submission) when the probe knows it; otherwise the bytes granted
        long ownBytes = s.ownReadBytes() >= 0 ? s.ownReadBytes() : backupBytes;
        long backupDisk = Math.min(ownBytes, readBytes);
        if (!smallReads) {
            requestBytes = Math.max(MIN_REQUEST_BYTES, requestBytes * REQUEST_SIZE_DECAY);
            if (backupDisk >= CALIBRATION_MIN_BYTES && readIos > 0) {
                requestBytes = Math.max(requestBytes, (double) backupDisk / readIos);
            }
            requestBytes = Math.min(requestBytes, MAX_REQUEST_BYTES);
        }
        double periodRequestBytes = smallReads
                ? Math.min(requestBytes, IoGovernor.FOREGROUND_READ_BYTES) : requestBytes;
        long backupIos = Math.min(readIos, (long) Math.ceil(backupDisk / periodRequestBytes));
        long fgReadIos = readIos - backupIos;
        long fgWriteIos = s.writeIos();
        double fgIops = (fgReadIos + fgWriteIos) / seconds;
        // the backup's count is an estimate: a foreground must stand out of its uncertainty
        double margin = (smallReads ? SMALL_READ_COUNT_UNCERTAINTY : LARGE_READ_COUNT_UNCERTAINTY)
                * backupIos;
        double sureIops = (Math.max(0, fgReadIos - margin) + fgWriteIos) / seconds;
        boolean fgSeen = sureIops >= o.foregroundIopsThreshold() && fgReadIos + fgWriteIos > 0;
        seenPeriods = fgSeen ? seenPeriods + 1 : 0;
        boolean fgActive = fgSeen && (foregroundBefore || seenPeriods >= CONFIRM_PERIODS
                || sureIops >= IMMEDIATE_FOREGROUND_MULTIPLE * o.foregroundIopsThreshold());
        boolean unconfirmed = fgSeen && !fgActive;
        quietPeriods = fgSeen ? 0 : quietPeriods + 1;
        double readAwait = s.readAwaitMs();
        double writeAwait = s.writeAwaitMs();

        boolean appeared = fgActive && !foregroundBefore;
        foregroundBefore = fgActive;
        if (appeared) {
            // a new foreground workload: what an earlier one measured says nothing about it (a
            // baseline of 0.97 ms learnt from other users' I/O hid fio's 0.08 ms for 10 s)
            readBaseline = 0;
            writeBaseline = 0;
            cpuBaseline = -1;
            readWindow.clear();
            writeWindow.clear();
            cpuWindow.clear();
        }
        if (fgActive) {
            lastForegroundNanos = nowNanos;
        } else if (lastForegroundNanos != Long.MIN_VALUE
                && nowNanos - lastForegroundNanos > o.baselineTtlMillis() * 1_000_000L) {
            readBaseline = 0;
            writeBaseline = 0;
            cpuBaseline = -1;
            readWindow.clear();
            writeWindow.clear();
            cpuWindow.clear();
        }
        // the foreground-alone baseline: learnt only while the backup is (nearly) not reading
        boolean backupIdle = backupRate <= IDLE_BACKUP_FLOOR_MULTIPLE * o.minRate();
        if (fgActive && backupIdle) {
            if (fgReadIos >= MIN_IOS_FOR_AWAIT && readAwait > 0) {
                readBaseline = readWindow.add(readAwait);
                lastBaselineNanos = nowNanos;
            }
            if (fgWriteIos >= MIN_IOS_FOR_AWAIT && writeAwait > 0) {
                writeBaseline = writeWindow.add(writeAwait);
            }
            cpuBaseline = cpuWindow.add(cpuSome);
        }
        double readInfl = readBaseline > 0 && fgReadIos >= MIN_IOS_FOR_AWAIT ? readAwait / readBaseline : 0;
        double writeInfl = writeBaseline > 0 && fgWriteIos >= MIN_IOS_FOR_AWAIT
                ? writeAwait / writeBaseline : 0;
        Signals sig = new Signals(fgIops, fgActive, backupRate, readBytes / seconds,
                (long) periodRequestBytes, readAwait, readBaseline, writeAwait, writeBaseline, readInfl,
                writeInfl, s.maxUtilisationPercent(), s.maxQueueDepth(), ioSome, ioFull, cpuSome, false);
        // a baseline is needed for each kind of foreground I/O present in this period: one learnt
        // from somebody's writes says nothing about the latency of a new reader
        boolean readKnown = readBaseline > 0;
        boolean writeKnown = writeBaseline > 0;
        boolean baselineValid = (readKnown || writeKnown)
                && (fgReadIos < MIN_IOS_FOR_AWAIT || readKnown)
                && (fgWriteIos < MIN_IOS_FOR_AWAIT || writeKnown);
        if (rebaseLeft > 0 && yieldDip && !fgActive) {
            rebaseLeft = 0; // the foreground we yielded to is gone: no need to finish learning
        }
        if (rebaseLeft > 0) {
            rebaseLeft--;
            if (rebaseLeft == 0) {
                rate = clamp(Math.max(o.minRate(), rateBeforeRebase), ceiling);
                return decision(s, before, Action.REBASE, String.format(Locale.ROOT,
                        "baseline measured: read await %.3f ms; resuming at the rate before the dip",
                        readBaseline), sig);
            }
            rate = clamp(o.minRate(), ceiling);
            return decision(s, before, Action.REBASE, "re-measuring the foreground baseline", sig);
        }
        if (unconfirmed) {
            return decision(s, before, Action.HOLD, String.format(Locale.ROOT,
                    "foreground %.0f IOPS for %d period(s): holding until it is seen %d in a row",
                    sureIops, seenPeriods, CONFIRM_PERIODS), sig);
        }
        if (!fgActive && restoreRate > 0 && quietPeriods >= RESTORE_QUIET_PERIODS) {
            long back = restoreRate;
            restoreRate = 0;
            if (back > rate) {
                rate = clamp(back, ceiling);
                return decision(s, before, Action.SLOW_START, String.format(Locale.ROOT,
                        "foreground gone for %d periods: back to the rate before it", quietPeriods),
                        sig);
            }
        }
        if (!fgActive) {
            return increase(s, before, demand, ceiling, sig, Action.SLOW_START, String.format(
                    Locale.ROOT, "quiet: foreground %.0f IOPS below %.0f", fgIops,
                    o.foregroundIopsThreshold()));
        }
        if (!baselineValid || appeared) {
            // a new foreground workload: step aside at once rather than halving for several periods,
            // and stay at the floor for the rebase length so that the baseline has several samples
            if (appeared) {
                restoreRate = Math.max(restoreRate, before);
            }
            rate = clamp(o.minRate(), ceiling);
            rateBeforeRebase = o.minRate();
            rebaseLeft = o.rebasePeriods();
            yieldDip = true;
            return decision(s, before, Action.YIELD, String.format(Locale.ROOT,
                    "foreground appeared: %.0f IOPS; yielding to the floor while its baseline is learnt",
                    fgIops),
                    sig);
        }
        boolean readHurt = readInfl >= o.readInflationLimit();
        boolean writeHurt = writeInfl >= o.writeInflationLimit();
        boolean cpuHurt = cpuBaseline >= 0 && cpuSome - cpuBaseline >= o.cpuPressureLimit();
        if (readHurt || writeHurt || cpuHurt) {
            String why = readHurt ? String.format(Locale.ROOT,
                    "foreground read await %.3f ms is %.2fx its baseline %.3f ms (limit %.2fx)",
                    readAwait, readInfl, readBaseline, o.readInflationLimit())
                    : writeHurt ? String.format(Locale.ROOT,
                    "foreground write await %.3f ms is %.2fx its baseline %.3f ms (limit %.2fx)",
                    writeAwait, writeInfl, writeBaseline, o.writeInflationLimit())
                    : String.format(Locale.ROOT,
                    "cpu pressure some %.0f%% is %.0f points over its baseline %.0f%% (limit %.0f)",
                    100 * cpuSome, 100 * (cpuSome - cpuBaseline), 100 * cpuBaseline,
                    100 * o.cpuPressureLimit());
            if (readHurt && readInfl >= SEVERE_INFLATION_MULTIPLE * o.readInflationLimit()) {
                rate = clamp(o.minRate(), ceiling);
                return decision(s, before, Action.DECREASE, why + "; severe: to the floor", sig);
            }
            return decrease(s, before, backupRate, ceiling, sig, why);
        }
        if (!backupIdle && lastBaselineNanos != Long.MIN_VALUE
                && nowNanos - lastBaselineNanos > o.rebaseIntervalMillis() * 1_000_000L) {
            rateBeforeRebase = rate;
            rebaseLeft = o.rebasePeriods();
            yieldDip = false;
            rate = clamp(o.minRate(), ceiling);
            lastBaselineNanos = nowNanos;
            return decision(s, before, Action.REBASE, String.format(Locale.ROOT,
                    "baseline older than %d ms: dipping to the floor to re-measure it",
                    o.rebaseIntervalMillis()), sig);
        }
        long tailCap = clamp((long) Math.min(Long.MAX_VALUE / 2,
                TAIL_REQUEST_SHARE * fgIops * IoGovernor.FOREGROUND_READ_BYTES), ceiling);
        if (rate >= tailCap) {
            Action a = rate > tailCap ? Action.DECREASE : Action.HOLD;
            rate = tailCap;
            return decision(s, before, a, String.format(Locale.ROOT,
                    "foreground %.0f IOPS not hurt, rate at its tail budget: %.1f%% of its requests",
                    fgIops, 100 * TAIL_REQUEST_SHARE), sig);
        }
        Decision d = increase(s, before, demand, ceiling, sig, Action.INCREASE, String.format(
                Locale.ROOT, "foreground %.0f IOPS not hurt: read await %.2fx baseline", fgIops,
                readInfl));
        if (rate > tailCap) {
            rate = tailCap;
            d = decision(s, before, d.action(), d.reason() + "; up to its tail budget", sig);
        }
        return d;
    }

    /** Rate after an increase of kind {@code action}, unless the readers do not use what they have. */
    private Decision increase(LoadSample s, long before, boolean demand, long ceiling,
            Signals sig, Action action, String why) {
        if (rate >= ceiling) {
            rate = ceiling;
            return decision(s, before, Action.HOLD, why + "; at the ceiling", sig);
        }
        if (!demand) {
            return decision(s, before, Action.HOLD, why + "; readers did not wait for the rate",
                    sig);
        }
        long next = action == Action.SLOW_START ? saturatedAdd(rate, Math.max(rate, o.additiveStep()))
                : saturatedAdd(rate, o.additiveStep());
        rate = clamp(next, ceiling);
        return decision(s, before, action, why, sig);
    }

    /** Multiplicative decrease from what the readers really used, never below the floor. */
    private Decision decrease(LoadSample s, long before, double backupRate, long ceiling,
            Signals sig, String why) {
        double used = Math.min(rate, Math.max(backupRate, o.minRate()));
        rate = clamp((long) (used * o.decreaseFactor()), ceiling);
        return decision(s, before, Action.DECREASE, why, sig);
    }

    private Decision decision(LoadSample s, long before, Action action, String why, Signals sig) {
        return new Decision(s.at(), rate, before, action, why, sig, 0, 0);
    }

    /** Forces the rate to the floor (probe failure). */
    void toFloor(long ceiling) {
        rate = clamp(o.minRate(), ceiling);
    }

    /** Bounds a rate to [floor, ceiling]; a policy cap below the floor wins over the floor. */
    long clamp(long r, long ceiling) {
        return Math.min(ceiling, Math.max(o.minRate(), r));
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }
}
