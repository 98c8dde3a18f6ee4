package dev.coffer.agent.daemon;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The lock that keeps two daemons off one catalog: an exclusive {@code fcntl} lock on {@code CATALOG.lock}
 * held for the daemon's life. The kernel drops it when the process dies, however it dies, so a crash
 * never leaves a stale lock behind. The file holds the owner's pid for the error message.
 */
public final class DaemonLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;
    private final Path file;

    private DaemonLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /** The lock file of a catalog. */
    public static Path fileFor(Path catalog) {
        return catalog.resolveSibling(catalog.getFileName() + ".lock");
    }

    /** Takes the lock of {@code catalog} or fails naming the lock file and the pid that holds it. */
    public static DaemonLock acquire(Path catalog) throws IOException {
        Path file = fileFor(catalog.toAbsolutePath());
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null; // this JVM already holds it
        }
        if (l == null) {
            String owner = "";
            try {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(32);
                int n = ch.read(b, 0);
                owner = n > 0 ? new String(b.array(), 0, n, StandardCharsets.US_ASCII).strip() : "";
            } catch (IOException ignored) {
                // the pid is only for the message
            } finally {
                ch.close();
            }
            throw new IOException(file + ": another coffer agent" + (owner.isEmpty() ? "" : " (pid " + owner + ")")
                    + " holds this catalog; two daemons never share one");
        }
        ch.truncate(0);
        ch.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
        ch.force(false);
        return new DaemonLock(file, ch, l);
    }

    /** The lock file. */
    public Path file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
