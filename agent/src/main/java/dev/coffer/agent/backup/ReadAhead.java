package dev.coffer.agent.backup;

import dev.coffer.agent.load.NativeFile;
import dev.coffer.agent.load.PageCache;
import dev.coffer.vmdk.ExtentFile;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the kernel to read a disk's grained extent files ahead of a full backup's readers
 * ({@code POSIX_FADV_WILLNEED}), at most {@link #AHEAD_BYTES} beyond where the most recent read of the
 * file ended.
 *
 * <p>A full backup reads every allocated cluster in disk order, which in a sparse extent is close to
 * file order, but its readers ask for a file's clusters at a time (35,000 reads of 25 KB on average
 * for the reference workload), and a read that meets pages still on their way from the disk copies
 * them as they arrive. On this virtual machine that copy took ~0.9 s of CPU when the extent was not
 * cached, against ~0.1 s from the page cache; reading ahead of the readers made the cold full backup's
 * system time fall by about a quarter (docs/performance.md). The kernel's own read-ahead works per
 * request, and the readers' requests are small.
 *
 * <p>Only grained extents (sparse, streamOptimized, seSparse): they hold what was written, while a flat
 * extent holds the disk's free space too, which the backup never reads. The window follows the
 * readers: where they jump ahead or back, so does the advice, and what is advised ahead of them is at
 * most {@code AHEAD_BYTES} (a grain of deleted data in that window is read in vain). Only for an
 * unthrottled backup: a governed one lets the load governor decide how fast the datastore is read.
 * Advice only: any failure stops it quietly.
 */
final class ReadAhead implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReadAhead.class);
    /** How far ahead of the readers: a few seconds of a backup's reading at most. */
    static final long AHEAD_BYTES = 64L << 20;
    /** The size of one request of advice. */
    static final long STEP_BYTES = 4L << 20;

    private final Thread thread;
    private volatile boolean closed;

    private ReadAhead(List<ExtentFile> files) {
        this.thread = new Thread(new Runnable() { // a class, not a lambda: it starts with the backup
            @Override
            public void run() {
                for (ExtentFile f : files) {
                    if (closed || f.grained() && !advise(f)) {
                        return;
                    }
                }
            }
        }, "backup-read-ahead");
        thread.setDaemon(true);
    }

    /** Starts reading the grained ones of {@code files} ahead of their readers, one file after the other. */
    static ReadAhead start(List<ExtentFile> files) {
        ReadAhead r = new ReadAhead(List.copyOf(files));
        r.thread.start();
        return r;
    }

    /**
     * Advises one file to its end (or until closed), keeping within {@code AHEAD_BYTES} after where its
     * most recent read ended: forward when the readers are past the advice, back to them when they went
     * back further than the window (the readers start at the disk's beginning after the MFT scan read
     * its middle). Returns false when advice failed.
     */
    private boolean advise(ExtentFile file) {
        try (NativeFile f = NativeFile.open(file.path())) {
            long size = java.nio.file.Files.size(file.path());
            long pos = 0;
            while (pos < size && !closed) {
                long last = file.lastRead().getAsLong();
                if (last > pos || pos - last > AHEAD_BYTES + STEP_BYTES) {
                    pos = last & ~4095L; // follow the readers
                }
                if (pos - last >= AHEAD_BYTES) {
                    LockSupport.parkNanos(2_000_000);
                    continue;
                }
                long n = Math.min(STEP_BYTES, size - pos);
                PageCache.willNeed(f.fd(), pos, n);
                pos += n;
            }
            return true;
        } catch (IOException | RuntimeException | LinkageError e) {
            log.debug("read-ahead stopped file={} error=\"{}\"", file.path(), e.getMessage());
            return false;
        }
    }

    /** Stops advising (what was asked for is still read by the kernel). */
    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
    }
}
