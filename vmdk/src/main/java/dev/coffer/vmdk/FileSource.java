package dev.coffer.vmdk;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One open file read by position: a thin, thread-safe wrapper over {@link FileChannel} positional
 * reads that names the file in every error. The size is taken once at open (images are read-only).
 */
final class FileSource implements ByteSource, Closeable {
    /**
     * The JDK reads into a heap buffer through a temporary direct buffer of the whole request's size,
     * kept per thread but replaced by a larger one whenever a request outgrows it. A new direct buffer
     * is zeroed and its pages faulted in: the MFT scan's 4 MiB reads cost ~40 ms of CPU that way on a
     * virtual machine (~2 ms per MiB), every backup. Read in slices of this size, each thread's
     * temporary buffer stays this small and is made once (and the copy out of it stays in the cache).
     */
    static final int HEAP_SLICE_BYTES = 256 << 10;

    private final Path path;
    private final FileChannel channel;
    private final long size;
    /** Where the most recent read ended (for read-ahead: a hint, so the threads' writes race freely). */
    private volatile long lastRead;

    private FileSource(Path path, FileChannel channel) throws IOException {
        this.path = path;
        this.channel = channel;
        this.size = channel.size();
    }

    static FileSource open(Path path) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new FileSource(path, ch);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
    }

    Path path() {
        return path;
    }

    /** Where the most recent read ended ({@link ExtentFile#lastRead}). */
    long lastRead() {
        return lastRead;
    }

    @Override
    public long size() {
        return size;
    }

    /** Reads exactly {@code dst.remaining()} bytes at {@code offset}; reading past the end is corruption. */
    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        int want = dst.remaining();
        if (offset < 0 || offset > size - want) {
            throw new CorruptImageException(path + " at 0x" + Long.toHexString(offset) + ": read of "
                    + want + " bytes past the end of the file (size 0x" + Long.toHexString(size) + ")");
        }
        lastRead = offset + want;
        long pos = offset;
        int end = dst.limit();
        try {
            while (dst.position() < end) {
                // a heap buffer is read at most HEAP_SLICE_BYTES at a time (see there)
                dst.limit(dst.isDirect() ? end : Math.min(end, dst.position() + HEAP_SLICE_BYTES));
                int n = channel.read(dst, pos);
                if (n < 0) {
                    throw new EOFException(path + " at 0x" + Long.toHexString(pos) + ": file shrank while reading");
                }
                pos += n;
            }
        } finally {
            dst.limit(end);
        }
    }

    /**
     * Writes {@code length} bytes from {@code offset} to {@code out} with {@link FileChannel#transferTo}
     * (sendfile/splice: no copy through the JVM where the OS can), falling back to copying.
     */
    void transferTo(long offset, long length, WritableByteChannel out) throws IOException {
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new CorruptImageException(path + " at 0x" + Long.toHexString(offset) + ": transfer of " + length
                    + " bytes past the end of the file (size 0x" + Long.toHexString(size) + ")");
        }
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            long n = channel.transferTo(pos, end - pos, out);
            if (n <= 0) {
                ByteBuffer b = ByteBuffer.allocate((int) Math.min(end - pos, 1 << 20));
                read(pos, b);
                b.flip();
                while (b.hasRemaining()) {
                    out.write(b);
                }
                n = b.limit();
            }
            pos += n;
        }
    }

    /** Reads {@code length} bytes at {@code offset} into a new little-endian buffer (length is validated by the caller). */
    ByteBuffer readBuffer(long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        read(offset, b);
        return b.flip();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
