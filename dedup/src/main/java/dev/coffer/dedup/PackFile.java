package dev.coffer.dedup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 16-byte header at the start of every pack file: magic u32 "CPAK", version u32, packId u64.
 *
 * @param packId the pack's number, also in its file name {@code pack-%08d.pack}
 */
record PackFile(long packId) {
    static final int MAGIC = 0x4B415043; // bytes "CPAK"
    static final int VERSION = 1;
    static final int HEADER_BYTES = 0x10;

    static String fileName(long packId) {
        // not String.format: a restore names a pack per block, and a cold Formatter costs milliseconds
        String n = Long.toString(packId);
        return "pack-" + "0".repeat(Math.max(0, 8 - n.length())) + n + ".pack";
    }

    /** Parses and validates a pack header read from {@code file}. */
    static PackFile parse(ByteBuffer raw, String file) throws CorruptDataException {
        ByteBuffer b = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < HEADER_BYTES) {
            throw new CorruptDataException(file + " at 0x0: pack header needs 16 bytes, found " + b.remaining());
        }
        if (b.getInt(0) != MAGIC) {
            throw new CorruptDataException(file + " at 0x0: pack magic expected 0x" + Integer.toHexString(MAGIC)
                    + ", found 0x" + Integer.toHexString(b.getInt(0)));
        }
        if (b.getInt(4) != VERSION) {
            throw new CorruptDataException(file + " at 0x4: pack version expected " + VERSION + ", found " + b.getInt(4));
        }
        return new PackFile(b.getLong(8));
    }

    ByteBuffer encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, MAGIC).putInt(4, VERSION).putLong(8, packId);
        return b;
    }
}
