package dev.coffer.ntfs;

/**
 * Little-endian reads from byte arrays. The MFT scan parses tens of thousands of records per second,
 * so records are decoded from one reused array rather than through a ByteBuffer slice per record
 * (STYLE.md prefers slices; here allocation churn on the hot path is the reason not to).
 */
final class Le {
    private Le() {}

    static int u8(byte[] b, int i) {
        return b[i] & 0xFF;
    }

    static int u16(byte[] b, int i) {
        return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8;
    }

    static int i32(byte[] b, int i) {
        return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8 | (b[i + 2] & 0xFF) << 16 | (b[i + 3] & 0xFF) << 24;
    }

    static long u32(byte[] b, int i) {
        return Integer.toUnsignedLong(i32(b, i));
    }

    static long i64(byte[] b, int i) {
        return (i32(b, i) & 0xFFFFFFFFL) | (long) i32(b, i + 4) << 32;
    }

    /** UTF-16LE string of {@code chars} code units at {@code i} (unpaired surrogates kept as is). */
    static String utf16(byte[] b, int i, int chars) {
        char[] c = new char[chars];
        for (int k = 0; k < chars; k++) {
            c[k] = (char) u16(b, i + 2 * k);
        }
        return new String(c);
    }
}
