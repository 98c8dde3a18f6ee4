package dev.coffer.agent.load;

import java.io.IOException;

/**
 * Drops what the backup read from the page cache ({@code posix_fadvise(POSIX_FADV_DONTNEED)}), so
 * that reading a datastore does not evict the foreground's cached data.
 *
 * <p>The advice applies to the file's pages, whichever descriptor reads them: a reader may read
 * through a {@link java.nio.channels.FileChannel} and drop through a {@link NativeFile} opened on the
 * same file, with no reflection into the JDK's private descriptor fields. Pages still dirty are not
 * dropped by the kernel (a backup only reads, so they are not its pages).
 */
public final class PageCache {
    private PageCache() {}

    /**
     * Drops the cached pages of {@code [offset, offset + length)} of the file open as {@code fd}.
     *
     * @param fd a file descriptor number
     * @param offset first byte, &gt;= 0
     * @param length byte count, &gt;= 0; 0 means "to the end of the file"
     * @throws IOException when the kernel refuses (error number in the message)
     */
    public static void dropBehind(int fd, long offset, long length) throws IOException {
        advise(fd, offset, length, Libc.POSIX_FADV_DONTNEED, "DONTNEED");
    }

    /** Asks the kernel to start reading {@code [offset, offset + length)} of {@code fd} into the page cache. */
    public static void willNeed(int fd, long offset, long length) throws IOException {
        advise(fd, offset, length, Libc.POSIX_FADV_WILLNEED, "WILLNEED");
    }

    /** Tells the kernel that {@code fd} will be read sequentially (doubles the read-ahead). */
    public static void adviseSequential(int fd) throws IOException {
        advise(fd, 0, 0, Libc.POSIX_FADV_SEQUENTIAL, "SEQUENTIAL");
    }

    /** Tells the kernel that {@code fd} will be read randomly: no read-ahead, requests as read. */
    public static void adviseRandom(int fd) throws IOException {
        advise(fd, 0, 0, Libc.POSIX_FADV_RANDOM, "RANDOM");
    }

    private static void advise(int fd, long offset, long length, int advice, String name)
            throws IOException {
        if (fd < 0 || offset < 0 || length < 0) {
            throw new IllegalArgumentException("posix_fadvise: fd, offset and length must be >= 0,"
                    + " found " + fd + ", " + offset + ", " + length);
        }
        Libc.Sys.requireSupported();
        int err = Libc.INSTANCE.posix_fadvise(fd, offset, length, advice);
        if (err != 0) {
            throw new IOException("posix_fadvise(fd " + fd + ", offset " + offset + ", length "
                    + length + ", " + name + ") failed: error " + err);
        }
    }
}
