package dev.coffer.ntfs;

/**
 * Applies the update sequence ("fixup") of a multi-sector NTFS structure (MFT record, index block):
 * the last two bytes of every 512-byte stride hold the update sequence number, and the real bytes
 * sit in the update sequence array. A mismatch means a torn or corrupt write.
 */
final class Fixup {
    /** The stride of the update sequence: always 512 bytes, whatever the sector size. */
    static final int STRIDE = 512;

    private Fixup() {}

    /**
     * Checks and undoes the fixups of the {@code size}-byte structure at {@code buf[off]}, in place.
     * {@code what} names the structure in messages (e.g. "MFT record 42 at 0x3f000").
     */
    static void apply(byte[] buf, int off, int size, Object what) throws CorruptNtfsException {
        int usaOffset = u16(buf, off + 0x04);
        int usaCount = u16(buf, off + 0x06);
        int strides = size / STRIDE;
        if (usaCount != strides + 1) {
            throw new CorruptNtfsException(what + ": update sequence count at +0x6 expected " + (strides + 1)
                    + ", found " + usaCount);
        }
        if (usaOffset < 0x08 || (usaOffset & 1) != 0 || usaOffset + 2L * usaCount > STRIDE - 2) {
            throw new CorruptNtfsException(what + ": update sequence offset at +0x4 out of range, found "
                    + Checks.hex(usaOffset));
        }
        int usn = u16(buf, off + usaOffset);
        for (int i = 0; i < strides; i++) {
            int pos = off + (i + 1) * STRIDE - 2;
            int found = u16(buf, pos);
            if (found != usn) {
                throw new CorruptNtfsException(what + ": update sequence mismatch at +" + Checks.hex(pos - off)
                        + ", expected " + String.format("0x%04x", usn) + ", found " + String.format("0x%04x", found));
            }
        }
        for (int i = 0; i < strides; i++) {
            int pos = off + (i + 1) * STRIDE - 2;
            int src = off + usaOffset + 2 + 2 * i;
            buf[pos] = buf[src];
            buf[pos + 1] = buf[src + 1];
        }
    }

    static int u16(byte[] b, int i) {
        return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8;
    }
}
