package dev.coffer.vmdk;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * Reads one extent: a stretch of one layer of a virtual disk stored in one file (or in none, for
 * ZERO). Offsets are bytes relative to the extent's start. Implementations are thread-safe.
 */
interface ExtentReader extends Closeable {
    /** Kind of a run: not stored here, look in the parent. */
    int UNALLOCATED = 0;
    /** Kind of a run: reads as zeros, parent not consulted. */
    int ZERO = 1;
    /** Kind of a run: stored here. */
    int DATA = 2;

    /** Encodes a kind and a run length as one long ({@code kind << 62 | length}). */
    static long run(int kind, long length) {
        return ((long) kind << 62) | length;
    }

    static int kindOf(long run) {
        return (int) (run >>> 62);
    }

    static long lengthOf(long run) {
        return run & ((1L << 62) - 1);
    }

    /** The extent's length in bytes. */
    long size();

    /** The file the extent's bytes are read from, or null when it has none (a ZERO extent). */
    default ExtentFile file() {
        return null;
    }

    /**
     * The kind of the bytes at {@code offset} and how many bytes from there (1..{@code maxLength},
     * within the extent) share it, encoded by {@link #run(int, long)}.
     */
    long map(long offset, long maxLength) throws IOException;

    /** Reads bytes that {@link #map} reported as DATA into {@code dst} (all of its remaining bytes). */
    void read(long offset, ByteBuffer dst) throws IOException;

    /**
     * Writes DATA bytes (as {@link #map} reported them) to {@code out}; stored, uncompressed bytes go
     * straight from the file ({@link FileSource#transferTo}), others through a buffer.
     */
    default void transferTo(long offset, long length, WritableByteChannel out) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
        for (long done = 0; done < length; ) {
            b.clear().limit((int) Math.min(b.capacity(), length - done));
            read(offset + done, b);
            b.flip();
            while (b.hasRemaining()) {
                out.write(b);
            }
            done += b.limit();
        }
    }

    /** True when reading costs CPU beyond copying (deflate-compressed grains). */
    default boolean compressed() {
        return false;
    }

    /** Grain size in bytes, 0 for extents without grains (flat, zero). */
    long grainSize();

    /** The file backing this extent, or null for ZERO. */
    java.nio.file.Path path();

    /** A short description for {@code image info}: format and key header values. */
    String describe();
}
