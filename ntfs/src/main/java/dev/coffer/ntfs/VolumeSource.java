package dev.coffer.ntfs;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The positional-read interface the ntfs module reads a volume through: byte 0 is the volume's boot
 * sector. Implementations must be thread-safe. The module knows nothing of what lies beneath (a raw
 * image, a partition of a virtual disk).
 */
public interface VolumeSource {
    /** The size of the volume in bytes. */
    long size() throws IOException;

    /**
     * Reads exactly {@code dst.remaining()} bytes starting at byte {@code offset} of the volume into
     * {@code dst}, advancing its position; a read past {@link #size()} throws.
     */
    void read(long offset, ByteBuffer dst) throws IOException;

    /** A source over a whole file, read with positional {@link java.nio.channels.FileChannel} reads. */
    static VolumeSource of(java.nio.channels.FileChannel ch) {
        return new VolumeSource() {
            @Override
            public long size() throws IOException {
                return ch.size();
            }

            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                long pos = offset;
                while (dst.hasRemaining()) {
                    int n = ch.read(dst, pos);
                    if (n < 0) {
                        throw new java.io.EOFException("read past the end of the volume at offset " + pos);
                    }
                    pos += n;
                }
            }
        };
    }
}
