package dev.coffer.catalog;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * Copies committed WAL frames into the database file on a thread of its own (SQLite {@code PRAGMA
 * wal_checkpoint(PASSIVE)} on a private connection), so the writer does not stop to checkpoint and fsync:
 * a full 1M-file ingest spent ~3 s of its ~20 s in checkpoints run inside its commits (docs/perf/catalog.md).
 * A passive checkpoint never blocks the writer or readers; the writer keeps a large automatic checkpoint as a
 * fallback in case this thread falls behind.
 *
 * <p>Lifecycle: {@link #nudge} after every commit (the first one opens the private connection and starts the
 * thread), {@link #stop} before the catalog closes. Owned by one {@link Catalog}. Started by the first commit
 * rather than at open: a command that only reads the catalog (a restore, a listing) never commits, and opening a
 * third connection and a thread for it was ~4 ms of a one-file restore's start.
 */
final class Checkpointer {
    private static final Logger log = LoggerFactory.getLogger(Checkpointer.class);
    /**
     * Least time between two checkpoints: 250 ms. A full ingest commits every ~0.1 s; coalescing a few commits
     * per checkpoint writes a page dirtied by each of them once, and a stream of tiny commits (registry, stored
     * marks) costs at most four background fsyncs a second.
     */
    static final long MIN_INTERVAL_NANOS = 250_000_000L;

    private final Path file;
    private final Object lock = new Object();
    /** Guarded by lock. */
    private boolean pending;
    /** Guarded by lock. */
    private boolean running;
    /** Guarded by lock: whether the first nudge has started the thread (or failed to). */
    private boolean started;
    private volatile Thread thread;
    private volatile Connection con;

    Checkpointer(Path file) {
        this.file = file;
    }

    /**
     * Opens the private connection and starts the thread. Caller holds lock. Where the connection cannot be
     * opened the writer's automatic checkpoint does the work; nothing is lost.
     */
    private void startLocked() {
        started = true;
        try {
            con = Schema.connect(file, 1, SQLiteConfig.TransactionMode.DEFERRED);
        } catch (SQLException | RuntimeException e) {
            // the commit that nudged has happened: it must not be reported as failed for this
            log.warn("background checkpoints off file={} error={}", file, e.getMessage());
            return;
        }
        running = true;
        thread = new Thread(this::loop, "catalog-checkpoint " + file.getFileName());
        thread.setDaemon(true);
        thread.start();
    }

    /** Asks for a checkpoint soon (the writer just committed). Cheap after the first call; never blocks on a checkpoint. */
    void nudge() {
        synchronized (lock) {
            if (!started) {
                startLocked();
            }
            if (!pending) {
                pending = true;
                lock.notifyAll();
            }
        }
    }

    /** Stops the thread (waiting for a checkpoint in progress) and closes its connection. */
    void stop() {
        Thread t;
        synchronized (lock) {
            started = true; // no thread starts after this
            t = thread;
            running = false;
            lock.notifyAll();
        }
        if (t != null) {
            boolean interrupted = false;
            while (t.isAlive()) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (con != null) {
            try {
                con.close();
            } catch (SQLException ignored) {
                // closing
            }
        }
    }

    private void loop() {
        long last = System.nanoTime() - MIN_INTERVAL_NANOS;
        while (true) {
            synchronized (lock) {
                while (running && !pending) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (!running) {
                    return;
                }
                long wait = last + MIN_INTERVAL_NANOS - System.nanoTime();
                if (wait > 0) {
                    try {
                        lock.wait(wait / 1_000_000L + 1); // a stop() wakes it early
                    } catch (InterruptedException e) {
                        return;
                    }
                    continue;
                }
                pending = false;
            }
            last = System.nanoTime();
            try (Statement st = con.createStatement(); ResultSet rs = st.executeQuery("PRAGMA wal_checkpoint(PASSIVE)")) {
                if (rs.next() && log.isTraceEnabled()) {
                    log.trace("checkpoint file={} busy={} walFrames={} copied={}", file, rs.getInt(1), rs.getInt(2),
                            rs.getInt(3));
                }
            } catch (SQLException e) {
                // nothing is lost: the frames stay in the WAL and the next checkpoint (or the writer's) copies them
                log.warn("background checkpoint failed file={} error={}", file, e.getMessage());
            }
        }
    }
}
