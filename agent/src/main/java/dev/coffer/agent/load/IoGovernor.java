package dev.coffer.agent.load;

import dev.coffer.agent.load.Decision.Action;
import dev.coffer.agent.load.Decision.Signals;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets the backup read rate from the controller's own load and hands it out as a token bucket:
 * every backup read calls {@link #acquire(long)} with its size first.
 *
 * <p>Every {@link IoGovernorOptions#periodMillis()} a thread ({@link #start()}) takes a
 * {@link LoadSample} from the {@link LoadProbe} and lets an AIMD law set the next rate: slow start
 * while the devices carry no foreground I/O, a yield to the floor when foreground I/O appears,
 * additive increase while the foreground's latency stays near its baseline, multiplicative decrease
 * when it does not (see {@code docs/scheduler.md}). A policy cap ({@link #setCapBytesPerSecond})
 * bounds the rate, a window ({@link IoGovernorOptions#window()}) or {@link #setPaused} blocks all
 * readers, and every decision is kept as a {@link Decision} for metrics and the API.
 *
 * <p>Thread-safe. Owns one daemon thread between {@link #start()} and {@link #stop()}.
 */
public final class IoGovernor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IoGovernor.class);
    /** Longest a blocked reader sleeps before re-checking rate, pause and interruption: 20 ms. */
    static final long MAX_WAIT_SLICE_NANOS = 20_000_000L;
    /** Smallest bucket depth, so one read-ahead-sized read always fits at the floor rate. */
    static final long MIN_BURST_BYTES = 256 << 10;

    private final IoGovernorOptions options;
    private final LoadProbe probe;
    private final MonotonicClock clock;
    private final Object lock = new Object();

    // @GuardedBy("lock")
    private final AimdController controller;
    // @GuardedBy("lock")
    private double balance;
    // @GuardedBy("lock")
    private long lastRefillNanos;
    // @GuardedBy("lock")
    private long periodBytes;
    // @GuardedBy("lock")
    private boolean periodDemand;
    // @GuardedBy("lock")
    private long grantedTotal;
    // @GuardedBy("lock")
    private long waitNanosTotal;
    // @GuardedBy("lock")
    private long cap;
    // @GuardedBy("lock")
    private boolean manuallyPaused;
    // @GuardedBy("lock")
    private Decision last;
    // @GuardedBy("lock")
    private final ArrayDeque<Decision> history = new ArrayDeque<>();
    // @GuardedBy("lock")
    private Thread thread;

    /**
     * A governor that is not yet sampling; {@link #acquire} already works at the initial rate.
     *
     * @param options the control law's knobs
     * @param probe where the load comes from ({@link ProcLoadProbe} in production)
     * @param clock the time source
     */
    public IoGovernor(IoGovernorOptions options, LoadProbe probe, MonotonicClock clock) {
        this.options = options;
        this.probe = probe;
        this.clock = clock;
        this.controller = new AimdController(options);
        this.lastRefillNanos = clock.nanoTime();
        this.last = new Decision(clock.instant(), options.initialRate(), options.initialRate(),
                Action.START, "governor created", Signals.NONE, 0, 0);
        history.add(last);
    }

    /** The options this governor runs with. */
    public IoGovernorOptions options() {
        return options;
    }

    /** Starts the sampling thread; a second call does nothing. */
    public void start() {
        synchronized (lock) {
            if (thread != null) {
                return;
            }
            thread = new Thread(this::run, "coffer-io-governor");
            thread.setDaemon(true);
            thread.start();
        }
        log.info("io governor started period_ms={} min_rate={} max_rate={}", options.periodMillis(),
                options.minRate(), options.maxRate());
    }

    /** Stops the sampling thread and waits for it; the rate stays where it was. */
    public void stop() {
        Thread t;
        synchronized (lock) {
            t = thread;
            thread = null;
        }
        if (t != null) {
            t.interrupt();
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            log.info("io governor stopped granted_bytes={}", grantedTotal());
        }
    }

    /** Same as {@link #stop()}. */
    @Override
    public void close() {
        stop();
    }

    private void run() {
        long period = options.periodMillis() * 1_000_000L;
        long next = clock.nanoTime() + period;
        try {
            while (!Thread.currentThread().isInterrupted()) {
                clock.sleepNanos(next - clock.nanoTime());
                tick();
                long now = clock.nanoTime();
                next += period;
                if (next < now) {
                    next = now + period; // fell behind (stopped VM, GC): do not catch up in a burst
                }
            }
        } catch (InterruptedException e) {
            // stop() asked us to end
        } catch (RuntimeException e) {
            log.error("io governor thread failed; backup reads stay at rate={}", rateBytesPerSecond(), e);
        }
    }

    /**
     * Blocks until {@code bytes} may be read, then takes them from the bucket. The bucket may go into
     * debt by one call, so any read size works and the average rate is exact; the next caller waits
     * for the debt to be repaid. Blocks while paused or outside the window.
     *
     * @param bytes the size of the read about to be issued (&gt;= 0)
     * @throws InterruptedException when the thread is interrupted while waiting (nothing is taken)
     */
    public void acquire(long bytes) throws InterruptedException {
        if (bytes < 0) {
            throw new IllegalArgumentException("acquire: bytes must be >= 0, found " + bytes);
        }
        long start = clock.nanoTime();
        long waited = 0;
        try {
            while (true) {
                if (Thread.interrupted()) {
                    throw new InterruptedException("interrupted while waiting for " + bytes
                            + " bytes of backup I/O");
                }
                long wait;
                synchronized (lock) {
                    long now = clock.nanoTime();
                    refillLocked(now);
                    if (pausedLocked()) {
                        wait = MAX_WAIT_SLICE_NANOS;
                    } else if (balance >= 0) {
                        balance -= bytes;
                        periodBytes = saturatedAdd(periodBytes, bytes);
                        grantedTotal = saturatedAdd(grantedTotal, bytes);
                        return;
                    } else {
                        wait = (long) Math.ceil(-balance / controller.rate * 1e9);
                        periodDemand = true;
                    }
                }
                clock.sleepNanos(Math.max(1_000, Math.min(wait, MAX_WAIT_SLICE_NANOS)));
                waited = clock.nanoTime() - start;
            }
        } finally {
            if (waited > 0) {
                synchronized (lock) {
                    waitNanosTotal = saturatedAdd(waitNanosTotal, waited);
                }
            }
        }
    }

    /**
     * Takes {@code bytes} if the bucket is not in debt and the governor is not paused; never blocks.
     *
     * @return true when the bytes were taken
     */
    public boolean tryAcquire(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("tryAcquire: bytes must be >= 0, found " + bytes);
        }
        synchronized (lock) {
            refillLocked(clock.nanoTime());
            if (pausedLocked() || balance < 0) {
                return false;
            }
            balance -= bytes;
            periodBytes = saturatedAdd(periodBytes, bytes);
            grantedTotal = saturatedAdd(grantedTotal, bytes);
            return true;
        }
    }

    /**
     * Takes one sample and decides the next rate; the governor's thread calls this every period.
     * Package-private so that tests can drive periods one by one.
     *
     * @return the decision
     */
    Decision tick() {
        LoadSample s;
        try {
            s = probe.sample();
        } catch (IOException | RuntimeException e) {
            synchronized (lock) {
                refillLocked(clock.nanoTime());
                long before = controller.rate;
                controller.toFloor(ceilingLocked());
                periodBytes = 0;
                log.warn("io governor cannot measure load, rate to floor reason={}", e.getMessage());
                return recordLocked(new Decision(clock.instant(), controller.rate, before,
                        Action.PROBE_FAILED, "cannot measure the load: " + e.getMessage(),
                        Signals.NONE, 0, 0));
            }
        }
        synchronized (lock) {
            long now = clock.nanoTime();
            refillLocked(now);
            long backupBytes = periodBytes;
            boolean demand = periodDemand;
            periodBytes = 0;
            periodDemand = false;
            Decision d;
            if (pausedLocked()) {
                d = new Decision(s.at(), controller.rate, controller.rate, Action.PAUSED,
                        manuallyPaused ? "paused through the API"
                                : "outside the window " + options.window().start() + "-"
                                        + options.window().end() + " " + options.window().zone(),
                        Signals.NONE, 0, 0);
            } else {
                d = controller.decide(s, backupBytes, demand, foregroundActiveLocked(), now,
                        ceilingLocked());
                if (!s.note().isEmpty()) {
                    d = new Decision(d.at(), d.rateBytesPerSecond(), d.previousRateBytesPerSecond(),
                            d.action(), d.reason() + " [" + s.note() + "]", d.signals(), 0, 0);
                }
            }
            return recordLocked(d);
        }
    }

    private Decision recordLocked(Decision d) {
        Decision full = new Decision(d.at(), d.rateBytesPerSecond(), d.previousRateBytesPerSecond(),
                d.action(), d.reason(), d.signals(), grantedTotal, waitNanosTotal);
        last = full;
        history.addLast(full);
        while (history.size() > options.historySize()) {
            history.removeFirst();
        }
        if (log.isDebugEnabled()) {
            log.debug("io decision action={} rate={} previous={} reason=\"{}\"", full.action(),
                    full.rateBytesPerSecond(), full.previousRateBytesPerSecond(), full.reason());
        }
        return full;
    }

    /**
     * Largest read a backup reader should issue while foreground I/O is present: 64 KiB. The
     * device serves one request at a time per queue slot, and a 4 MiB read-ahead request holds a
     * slot for 2-4 ms here, so 2.5 such requests a second (10 MiB/s) still put ~1 ms on the tail of
     * a foreground that answers in 80 us (measured: fio p99 82 us alone, 0.96-1.19 ms beside a
     * backup governed down to 8-14 MiB/s with 8 MiB read-ahead). A 64 KiB request takes ~40 us.
     */
    public static final int FOREGROUND_READ_BYTES = 64 << 10;

    /**
     * Whether the last period saw foreground I/O (or the governor is yielding or re-measuring):
     * readers then issue reads of at most {@link #FOREGROUND_READ_BYTES} without read-ahead
     * ({@link NativeFile#adviseForeground(boolean)}), otherwise large sequential reads.
     */
    public boolean foregroundActive() {
        synchronized (lock) {
            return foregroundActiveLocked();
        }
    }

    private boolean foregroundActiveLocked() {
        Decision d = last;
        return d.signals().foregroundActive() || d.action() == Action.YIELD
                || d.action() == Action.REBASE || d.action() == Action.PROBE_FAILED;
    }

    /**
     * The read size a reader should use now: {@code normalBytes} when the devices are quiet,
     * at most {@link #FOREGROUND_READ_BYTES} while foreground I/O is present.
     */
    public int readSizeHint(int normalBytes) {
        return foregroundActive() ? Math.min(normalBytes, FOREGROUND_READ_BYTES) : normalBytes;
    }

    /** The current backup read rate, bytes/s. */
    public long rateBytesPerSecond() {
        synchronized (lock) {
            return controller.rate;
        }
    }

    /** The latest decision. */
    public Decision decision() {
        synchronized (lock) {
            return last;
        }
    }

    /** The recent decisions, oldest first (at most {@link IoGovernorOptions#historySize()}). */
    public List<Decision> history() {
        synchronized (lock) {
            return List.copyOf(history);
        }
    }

    /** Bytes handed to readers since creation. */
    public long grantedTotal() {
        synchronized (lock) {
            return grantedTotal;
        }
    }

    /**
     * Sets the policy's bandwidth cap; the rate never exceeds it, even when it is below the floor.
     *
     * @param bytesPerSecond the cap, bytes/s; 0 removes it
     */
    public void setCapBytesPerSecond(long bytesPerSecond) {
        if (bytesPerSecond < 0) {
            throw new IllegalArgumentException("cap must be >= 0 (0 = none), found " + bytesPerSecond);
        }
        synchronized (lock) {
            refillLocked(clock.nanoTime());
            cap = bytesPerSecond;
            controller.rate = controller.clamp(controller.rate, ceilingLocked());
        }
    }

    /** The policy cap, bytes/s, 0 when none. */
    public long capBytesPerSecond() {
        synchronized (lock) {
            return cap;
        }
    }

    /** Pauses (true) or resumes (false) all backup reads, whatever the window says. */
    public void setPaused(boolean paused) {
        synchronized (lock) {
            manuallyPaused = paused;
        }
    }

    /** True when readers are blocked now: paused through the API or outside the window. */
    public boolean paused() {
        synchronized (lock) {
            return pausedLocked();
        }
    }

    private boolean pausedLocked() {
        return manuallyPaused || !options.window().contains(clock.instant());
    }

    private long ceilingLocked() {
        return cap > 0 ? Math.min(cap, options.maxRate()) : options.maxRate();
    }

    private void refillLocked(long now) {
        long dt = now - lastRefillNanos;
        if (dt <= 0) {
            return;
        }
        lastRefillNanos = now;
        double rate = controller.rate;
        double depth = Math.max(MIN_BURST_BYTES, rate * options.burstMillis() / 1000.0);
        balance = Math.min(depth, balance + rate * (dt / 1e9));
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }
}
