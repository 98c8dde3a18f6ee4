package dev.coffer.agent.restore;

/**
 * A half-open range of bytes {@code [offset, offset + length)} of one restored file; offset and
 * length are in bytes.
 */
public record ByteRange(long offset, long length) {
    /** Checks that the range is non-negative and does not overflow. */
    public ByteRange {
        if (offset < 0 || length < 0 || offset > Long.MAX_VALUE - length) {
            throw new IllegalArgumentException("bad range offset=" + offset + " length=" + length);
        }
    }

    /** The first byte after the range. */
    public long end() {
        return offset + length;
    }
}
