package dev.coffer.agent.load;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A file opened read-only with {@code open(2)} and read with {@code pread(2)}, so that its descriptor
 * number is known for {@link PageCache}: the backup's way to read a datastore file without
 * disturbing it (no access-time update where permitted, page cache dropped behind).
 *
 * <p>Thread-safe for concurrent positional reads, as {@code pread} is. Close it once.
 */
public final class NativeFile implements AutoCloseable {
    private final Path path;
    private final int fd;
    private final Object closeLock = new Object();
    // @GuardedBy("closeLock")
    private boolean closed;
    /** Everything before this offset has been dropped from the page cache by dropBehindUpTo. */
    private long droppedUpTo;
    private boolean adviceSet;
    private boolean adviceForeground;

    /**
     * Alignment of the ranges {@link #dropBehindUpTo} drops: 2 MiB, the largest page-cache folio on
     * x86_64 and aarch64 with 4 KiB pages (PMD order). Since Linux 6.x ext4 and xfs cache files in
     * large folios, and {@code POSIX_FADV_DONTNEED} skips a folio its range covers only in part, so
     * dropping each 1 MiB read as it completes left most of the file cached (measured here: 466 of
     * 512 MiB stayed resident, the disk saw 828 MB of a 4.1 GB read).
     */
    public static final long DROP_ALIGN = 2L << 20;

    private NativeFile(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /**
     * Opens {@code path} for reading, with {@code O_NOATIME} when the kernel permits it (owner or
     * CAP_FOWNER) and without it otherwise.
     *
     * @throws IOException when the file cannot be opened (errno in the message)
     */
    public static NativeFile open(Path path) throws IOException {
        Libc.Sys.requireSupported();
        String p = path.toAbsolutePath().toString();
        try {
            return new NativeFile(path, Libc.INSTANCE.open(p,
                    Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_NOATIME));
        } catch (LastErrorException e) {
            if (e.getErrorCode() != Libc.EPERM) {
                throw new IOException(p + ": open failed: errno " + e.getErrorCode(), e);
            }
        }
        try {
            return new NativeFile(path, Libc.INSTANCE.open(p, Libc.O_RDONLY | Libc.O_CLOEXEC));
        } catch (LastErrorException e) {
            throw new IOException(p + ": open failed: errno " + e.getErrorCode(), e);
        }
    }

    /** The descriptor number, for {@link PageCache}. */
    public int fd() {
        return fd;
    }

    /** The path it was opened with. */
    public Path path() {
        return path;
    }

    /**
     * Reads into {@code dst} (a direct buffer) from file offset {@code position}, up to its remaining
     * bytes; advances its position.
     *
     * @return bytes read, -1 at end of file
     * @throws IOException on a read error (errno in the message)
     */
    public int read(ByteBuffer dst, long position) throws IOException {
        if (!dst.isDirect()) {
            throw new IllegalArgumentException("NativeFile.read needs a direct buffer");
        }
        if (position < 0) {
            throw new IllegalArgumentException("position must be >= 0, found " + position);
        }
        int want = dst.remaining();
        if (want == 0) {
            return 0;
        }
        Pointer p = Native.getDirectBufferPointer(dst).share(dst.position());
        for (int attempt = 0; ; attempt++) {
            try {
                long n = Libc.INSTANCE.pread(fd, p, want, position);
                if (n == 0) {
                    return -1;
                }
                dst.position(dst.position() + (int) n);
                return (int) n;
            } catch (LastErrorException e) {
                // EINTR: a signal arrived before any byte was read; bounded retries
                if (e.getErrorCode() != Libc.EINTR || attempt >= 100) {
                    throw new IOException(path + ": pread at offset " + position + " of " + want
                            + " bytes failed: errno " + e.getErrorCode(), e);
                }
            }
        }
    }

    /**
     * Drop-behind for one sequential reader: drops everything between the previous call's end and
     * {@code end} rounded down to {@link #DROP_ALIGN}, so that whole folios go. An {@code end} below
     * the previous one (the reader wrapped or started over) first drops the rest of the file. Not
     * thread-safe: one reader per file, as a sequential reader is.
     *
     * @param end the offset up to which the reader has consumed the file
     */
    public void dropBehindUpTo(long end) throws IOException {
        if (end < droppedUpTo) {
            PageCache.dropBehind(fd, droppedUpTo, 0);
            droppedUpTo = 0;
        }
        long aligned = end - Math.floorMod(end, DROP_ALIGN);
        if (aligned > droppedUpTo) {
            PageCache.dropBehind(fd, droppedUpTo, aligned - droppedUpTo);
            droppedUpTo = aligned;
        }
    }

    /**
     * Switches read-ahead for the governor's current mode: with foreground I/O present
     * ({@code true}) read-ahead is turned off ({@code POSIX_FADV_RANDOM}) so that each read is
     * one small device request; otherwise it is doubled ({@code POSIX_FADV_SEQUENTIAL}). Calls
     * that do not change the mode cost nothing.
     */
    public void adviseForeground(boolean foreground) throws IOException {
        if (adviceSet && foreground == adviceForeground) {
            return;
        }
        if (foreground) {
            PageCache.adviseRandom(fd);
        } else {
            PageCache.adviseSequential(fd);
        }
        adviceSet = true;
        adviceForeground = foreground;
    }

    /** Drops the cached pages of {@code [offset, offset + length)} of this file. */
    public void dropBehind(long offset, long length) throws IOException {
        PageCache.dropBehind(fd, offset, length);
    }

    /** Closes the descriptor; later calls do nothing. */
    @Override
    public void close() throws IOException {
        synchronized (closeLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            Libc.INSTANCE.close(fd);
        } catch (LastErrorException e) {
            throw new IOException(path + ": close failed: errno " + e.getErrorCode(), e);
        }
    }
}
