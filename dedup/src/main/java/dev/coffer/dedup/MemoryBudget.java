package dev.coffer.dedup;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bytes a server may hold for requests it has read but not finished, across all connections and per
 * connection. A connection that cannot reserve the body of its next frame stops reading (TCP pushes back
 * on the peer) until enough is released. This is what keeps the server's memory bounded whatever the
 * peers do (docs/protocol.md, "Session" step 3).
 */
final class MemoryBudget {
    private final long globalMax;
    private final AtomicLong used = new AtomicLong();
    private final ConcurrentLinkedQueue<Runnable> waiting = new ConcurrentLinkedQueue<>();

    MemoryBudget(long globalMax) {
        this.globalMax = globalMax;
    }

    long used() {
        return used.get();
    }

    /** A reservation held by one frame (and its processing); release exactly once. */
    final class Lease {
        private final long bytes;
        private final AtomicLong connUsed;
        private boolean released;

        private Lease(long bytes, AtomicLong connUsed) {
            this.bytes = bytes;
            this.connUsed = connUsed;
        }

        /** Returns the bytes; wakes connections that were waiting. Idempotent. */
        void release() {
            synchronized (this) {
                if (released) {
                    return;
                }
                released = true;
            }
            connUsed.addAndGet(-bytes);
            used.addAndGet(-bytes);
            wakeAll();
        }
    }

    /**
     * Reserves {@code bytes} for a connection whose own usage is {@code connUsed} (capped at {@code connMax}),
     * or returns null and registers {@code wake} to run (once) when memory is released.
     */
    Lease tryReserve(long bytes, AtomicLong connUsed, long connMax, Runnable wake) {
        // a connection with nothing reserved may always take one frame's worth per its own limit, so a
        // single frame never waits on itself
        if (connUsed.get() + bytes > connMax && connUsed.get() > 0) {
            waiting.add(wake);
            return null;
        }
        while (true) {
            long u = used.get();
            if (u + bytes > globalMax && u > 0) {
                waiting.add(wake);
                // re-check after registering: a release may have happened in between
                if (used.get() + bytes <= globalMax) {
                    wakeAll();
                }
                return null;
            }
            if (used.compareAndSet(u, u + bytes)) {
                connUsed.addAndGet(bytes);
                return new Lease(bytes, connUsed);
            }
        }
    }

    /** Reserves without a cap (responses already being produced); still counted so that new reads wait. */
    Lease reserveUnconditionally(long bytes, AtomicLong connUsed) {
        used.addAndGet(bytes);
        connUsed.addAndGet(bytes);
        return new Lease(bytes, connUsed);
    }

    private void wakeAll() {
        Runnable r;
        while ((r = waiting.poll()) != null) {
            r.run();
        }
    }
}
