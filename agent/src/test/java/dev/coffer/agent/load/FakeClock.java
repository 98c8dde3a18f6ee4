package dev.coffer.agent.load;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/** A {@link MonotonicClock} that only moves when told to, or when someone sleeps on it. */
final class FakeClock implements MonotonicClock {
    private final Instant origin;
    private final AtomicLong nanos = new AtomicLong();

    FakeClock(Instant origin) {
        this.origin = origin;
    }

    FakeClock() {
        this(Instant.parse("2026-11-22T12:00:00Z"));
    }

    @Override
    public long nanoTime() {
        return nanos.get();
    }

    @Override
    public Instant instant() {
        return origin.plusNanos(nanos.get());
    }

    @Override
    public void sleepNanos(long n) throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        if (n > 0) {
            nanos.addAndGet(n);
        }
        Thread.yield();
    }

    void advanceMillis(long ms) {
        nanos.addAndGet(ms * 1_000_000L);
    }
}
