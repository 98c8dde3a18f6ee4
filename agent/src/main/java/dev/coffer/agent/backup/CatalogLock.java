package dev.coffer.agent.backup;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The one writer of a catalog: a lock on {@code CATALOG.lock} held by the daemon or by a CLI backup
 * for as long as it writes. A second writer gets a clear error instead of racing the first, and
 * whoever holds the lock may safely mark backups left {@code running} by a killed process as failed.
 */
public final class CatalogLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private CatalogLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the lock of {@code catalogFile}, or fails at once saying who is likely to hold it. */
    public static CatalogLock acquire(Path catalogFile) throws IOException {
        Path file = catalogFile.resolveSibling(catalogFile.getFileName() + ".lock");
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        }
        if (l == null) {
            ch.close();
            throw new BackupException("the catalog " + catalogFile + " is in use by another coffer process (a running"
                    + " daemon or backup, see " + file + "); stop it or ask the daemon through its API");
        }
        return new CatalogLock(ch, l);
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
