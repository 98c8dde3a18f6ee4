package dev.coffer.agent.load;

import java.time.Instant;

/**
 * The time source of the load-aware scheduler: a monotonic nanosecond counter for rates and waits,
 * the wall clock for windows and decision timestamps, and the way to wait.
 *
 * <p>Injected everywhere so that tests drive time with a fake clock whose {@link #sleepNanos} simply
 * advances time: no unit test sleeps.
 */
public interface MonotonicClock {
    /** Monotonic time in nanoseconds (origin arbitrary), like {@link System#nanoTime()}. */
    long nanoTime();

    /** The wall-clock time now. */
    Instant instant();

    /**
     * Waits about {@code nanos} nanoseconds (returns at once when {@code nanos <= 0}).
     *
     * @throws InterruptedException when the waiting thread is interrupted
     */
    void sleepNanos(long nanos) throws InterruptedException;

    /** The real clock: {@link System#nanoTime()}, {@link Instant#now()} and {@link Thread#sleep}. */
    static MonotonicClock system() {
        return SystemClock.INSTANCE;
    }

    /** The real clock; an enum so that it is a stateless singleton. */
    enum SystemClock implements MonotonicClock {
        INSTANCE;

        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public Instant instant() {
            return Instant.now();
        }

        @Override
        public void sleepNanos(long nanos) throws InterruptedException {
            if (nanos > 0) {
                Thread.sleep(nanos / 1_000_000L, (int) (nanos % 1_000_000L));
            } else if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
    }
}
