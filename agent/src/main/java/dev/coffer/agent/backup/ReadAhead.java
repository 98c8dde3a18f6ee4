package dev.coffer.agent.backup;

import dev.coffer.agent.load.NativeFile;
import dev.coffer.agent.load.PageCache;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the kernel to read a disk's extent files ahead of a full backup's readers
 * ({@code POSIX_FADV_WILLNEED}), in file order, at most {@link #AHEAD_BYTES} beyond what the pipeline
 * has read.
 *
 * <p>A full backup reads every allocated cluster in disk order, which in a sparse extent is close to
 * file order, but its readers ask for a file's clusters at a time (35,000 reads of 25 KB on average
 * for the reference workload), and a read that meets pages still on their way from the disk copies
 * them as they arrive. On this virtual machine that copy took ~0.9 s of CPU when the extent was not
 * cached, against ~0.1 s from the page cache; reading ahead of the readers made the cold full backup's
 * system time fall by about a third (docs/performance.md). The kernel's own read-ahead works per reader
 * and request, and the readers' requests are small.
 *
 * <p>Only for an unthrottled backup: a throttled one lets the load governor decide how fast the
 * datastore is read, and read-ahead would read around it. The window is bounded, so at most
 * {@code AHEAD_BYTES} are read that the backup has not asked for yet; a file it does not reach in that
 * order is read ahead in vain but read no more than once. Advice only: any failure stops it quietly.
 */
final class ReadAhead implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReadAhead.class);
    /** How far ahead of the readers: a few seconds of a backup's reading at most. */
    static final long AHEAD_BYTES = 64L << 20;
    /** The size of one request of advice. */
    static final long STEP_BYTES = 4L << 20;

    private final Thread thread;
    private volatile boolean closed;

    private ReadAhead(List<Path> files, AtomicLong bytesRead) {
        this.thread = new Thread(new Runnable() { // a class, not a lambda: it starts with the backup
            @Override
            public void run() {
                advise(files, bytesRead);
            }
        }, "backup-read-ahead");
        thread.setDaemon(true);
    }

    /** Starts reading {@code files} ahead, in order, of the {@code bytesRead} the pipeline counts. */
    static ReadAhead start(List<Path> files, AtomicLong bytesRead) {
        ReadAhead r = new ReadAhead(List.copyOf(files), bytesRead);
        r.thread.start();
        return r;
    }

    private void advise(List<Path> files, AtomicLong bytesRead) {
        long base = bytesRead.get();
        long issued = 0;
        for (Path file : files) {
            try (NativeFile f = NativeFile.open(file)) {
                long size = java.nio.file.Files.size(file);
                for (long pos = 0; pos < size && !closed; pos += STEP_BYTES) {
                    while (!closed && issued - (bytesRead.get() - base) > AHEAD_BYTES) {
                        LockSupport.parkNanos(2_000_000);
                    }
                    long n = Math.min(STEP_BYTES, size - pos);
                    PageCache.willNeed(f.fd(), pos, n);
                    issued += n;
                }
            } catch (IOException | RuntimeException | LinkageError e) {
                log.debug("read-ahead stopped file={} error=\"{}\"", file, e.getMessage());
                return;
            }
            if (closed) {
                return;
            }
        }
    }

    /** Stops advising (what was asked for is still read by the kernel). */
    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
    }
}
