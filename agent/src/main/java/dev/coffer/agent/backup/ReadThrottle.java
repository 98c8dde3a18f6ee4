package dev.coffer.agent.backup;

/**
 * Paces a backup's reads: {@link #acquire} blocks until the reader may read that many bytes. The
 * load-aware scheduler's job ({@code IoScheduler.Job::acquire}) is the real one; {@link #NONE} reads
 * at full speed (tests, or an operator's explicit choice).
 */
@FunctionalInterface
public interface ReadThrottle {
    /** No pacing. */
    ReadThrottle NONE = bytes -> { };

    /** Blocks until {@code bytes} may be read; interruptible. */
    void acquire(long bytes) throws InterruptedException;
}
