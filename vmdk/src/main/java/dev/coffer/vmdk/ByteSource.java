package dev.coffer.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A random-access range of bytes that can be read by position from many threads at once: a virtual
 * disk, a plain raw image, or a slice of either.
 */
public interface ByteSource {
    /** The number of readable bytes. */
    long size();

    /**
     * Fills exactly {@code dst.remaining()} bytes of {@code dst} with the bytes starting at byte
     * {@code offset}; a range that reaches past {@link #size()} is an error. Safe to call from many
     * threads at once.
     */
    void read(long offset, ByteBuffer dst) throws IOException;
}
