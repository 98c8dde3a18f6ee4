package dev.coffer.agent.backup;

/**
 * A fixed ceiling on a job's read rate (a policy's {@code bandwidth}), as a token bucket holding at
 * most one second of tokens. The load governor paces below it; this only ever slows a job further.
 */
public final class RateCap implements ReadThrottle {
    private final long bytesPerSecond;
    private long available;
    private long last = System.nanoTime();

    /** A cap of {@code bytesPerSecond}; 0 or less means none. */
    public RateCap(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
        this.available = bytesPerSecond;
    }

    /** Paces through {@code inner} first, then through this cap (when there is one). */
    public ReadThrottle after(ReadThrottle inner) {
        if (bytesPerSecond <= 0) {
            return inner;
        }
        return bytes -> {
            inner.acquire(bytes);
            acquire(bytes);
        };
    }

    @Override
    public synchronized void acquire(long bytes) throws InterruptedException {
        if (bytesPerSecond <= 0) {
            return;
        }
        while (true) {
            long now = System.nanoTime();
            available = Math.min(bytesPerSecond, available + (now - last) * bytesPerSecond / 1_000_000_000L);
            last = now;
            if (available >= Math.min(bytes, bytesPerSecond)) {
                available -= bytes;   // may go negative for a read larger than a second's worth
                return;
            }
            long waitNanos = (Math.min(bytes, bytesPerSecond) - available) * 1_000_000_000L / bytesPerSecond;
            wait(Math.max(1, waitNanos / 1_000_000), (int) (waitNanos % 1_000_000 / 1000));
        }
    }
}
