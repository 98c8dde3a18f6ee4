package dev.coffer.ntfs;

/**
 * LZNT1 decompression, the algorithm of NTFS compressed streams ([MS-XCA] 2.5): the input is a
 * sequence of chunks, each a 16-bit header (bit 15 = compressed, bits 0-11 = data length - 1) and
 * up to 4096 bytes of output; a compressed chunk is groups of a flag byte and eight tokens, a
 * literal byte or a 16-bit back reference whose offset/length split widens with the position in
 * the chunk (offset bits 4..12). A 0 header ends the stream.
 */
final class Lznt1 {
    /** Uncompressed bytes per chunk, fixed by the format. */
    static final int CHUNK = 4096;

    private Lznt1() {}

    /**
     * Decompresses {@code src[srcOff..srcOff+srcLen)} into {@code dst[dstOff..dstOff+dstLen)} and
     * zero-fills whatever the data leaves short. {@code where} names the stream for messages.
     * Never writes outside the given range and never reads outside the given input.
     */
    static void decompress(byte[] src, int srcOff, int srcLen, byte[] dst, int dstOff, int dstLen, String where)
            throws CorruptNtfsException {
        int sp = srcOff;
        int srcEnd = srcOff + srcLen;
        int dp = dstOff;
        int dstEnd = dstOff + dstLen;
        while (sp + 2 <= srcEnd && dp < dstEnd) {
            int h = Le.u16(src, sp);
            if (h == 0) {
                break;
            }
            int len = (h & 0x0FFF) + 1;
            sp += 2;
            if (len > srcEnd - sp) {
                throw new CorruptNtfsException(where + ": LZNT1 chunk at input +" + Checks.hex(sp - 2 - srcOff)
                        + " declares " + len + " bytes, only " + (srcEnd - sp) + " remain");
            }
            int chunkStart = dp;
            int chunkEnd = Math.min(dp + CHUNK, dstEnd);
            if ((h & 0x8000) == 0) {
                int n = Math.min(len, chunkEnd - dp);
                System.arraycopy(src, sp, dst, dp, n);
                dp += n;
            } else {
                dp = chunk(src, sp, sp + len, dst, dp, chunkEnd, where, sp - 2 - srcOff);
            }
            sp += len;
            // A chunk stands for 4096 output bytes; a short one leaves zeros behind it.
            java.util.Arrays.fill(dst, dp, chunkEnd, (byte) 0);
            dp = chunkEnd;
            if (chunkEnd - chunkStart < CHUNK) {
                break;
            }
        }
        java.util.Arrays.fill(dst, dp, dstEnd, (byte) 0);
    }

    private static int chunk(byte[] src, int s, int end, byte[] dst, int d, int dEnd, String where, int chunkAt)
            throws CorruptNtfsException {
        int start = d;
        while (s < end && d < dEnd) {
            int flags = src[s++] & 0xFF;
            for (int bit = 0; bit < 8 && s < end && d < dEnd; bit++, flags >>>= 1) {
                if ((flags & 1) == 0) {
                    dst[d++] = src[s++];
                    continue;
                }
                if (s + 2 > end) {
                    throw new CorruptNtfsException(where + ": LZNT1 chunk at input +" + Checks.hex(chunkAt)
                            + ": back reference cut short");
                }
                int token = Le.u16(src, s);
                s += 2;
                int pos = d - start;
                int lg = 0;
                for (int i = pos - 1; i >= 0x10; i >>>= 1) {
                    lg++;
                }
                int back = (token >>> (12 - lg)) + 1;
                int length = (token & (0xFFF >>> lg)) + 3;
                if (back > pos) {
                    throw new CorruptNtfsException(where + ": LZNT1 chunk at input +" + Checks.hex(chunkAt)
                            + ": back reference " + back + " before the chunk start (output position " + pos + ")");
                }
                int n = Math.min(length, dEnd - d);
                for (int k = 0; k < n; k++, d++) {
                    dst[d] = dst[d - back];
                }
            }
        }
        return d;
    }
}
