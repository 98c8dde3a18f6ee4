package dev.coffer.dedup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The header of one block record in a pack file (docs/store.md, "Pack files").
 *
 * <p>Layout, little-endian: magic u32 "CBLK", codec u8, version u8, reserved u16, storedLength u32,
 * rawLength u32, sha256[32], payloadCrc32c u32, headerCrc32c u32 (over 0x00..0x33); the payload follows.
 *
 * @param codec how the payload encodes the block
 * @param storedLength payload bytes
 * @param rawLength raw block bytes
 * @param sha256 the raw block's SHA-256
 * @param payloadCrc CRC-32C of the payload (detects torn writes during recovery without decompressing)
 */
record PackRecord(Codec codec, int storedLength, int rawLength, byte[] sha256, int payloadCrc) {
    static final int MAGIC = 0x4B4C4243; // bytes "CBLK"
    static final int VERSION = 1;
    static final int HEADER_BYTES = 0x38;
    static final int OFF_CODEC = 0x04;
    static final int OFF_VERSION = 0x05;
    static final int OFF_RESERVED = 0x06;
    static final int OFF_STORED = 0x08;
    static final int OFF_RAW = 0x0C;
    static final int OFF_SHA = 0x10;
    static final int OFF_PAYLOAD_CRC = 0x30;
    static final int OFF_HEADER_CRC = 0x34;
    /** Largest block: 16 MiB raw, the protocol's maxBlockBytes. */
    static final int MAX_BLOCK_BYTES = 16 << 20;

    /** Parses and validates a header read at {@code fileOffset} of {@code file}. */
    static PackRecord parse(ByteBuffer raw, String file, long fileOffset) throws CorruptDataException {
        ByteBuffer b = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        String at = file + " at 0x" + Long.toHexString(fileOffset);
        if (b.remaining() < HEADER_BYTES) {
            throw new CorruptDataException(at + ": record header needs " + HEADER_BYTES + " bytes, found " + b.remaining());
        }
        if (b.getInt(0) != MAGIC) {
            throw new CorruptDataException(at + ": record magic expected 0x" + Integer.toHexString(MAGIC)
                    + ", found 0x" + Integer.toHexString(b.getInt(0)));
        }
        int headerCrc = crc(b, 0, OFF_HEADER_CRC);
        if (b.getInt(OFF_HEADER_CRC) != headerCrc) {
            throw new CorruptDataException(at + ": record header CRC expected 0x" + Integer.toHexString(headerCrc)
                    + ", found 0x" + Integer.toHexString(b.getInt(OFF_HEADER_CRC)));
        }
        if ((b.get(OFF_VERSION) & 0xFF) != VERSION || b.getShort(OFF_RESERVED) != 0) {
            throw new CorruptDataException(at + ": record version expected " + VERSION + ", found " + (b.get(OFF_VERSION) & 0xFF));
        }
        Codec codec = Codec.byId(b.get(OFF_CODEC) & 0xFF);
        if (codec == null) {
            throw new CorruptDataException(at + ": unknown codec " + (b.get(OFF_CODEC) & 0xFF));
        }
        long stored = Integer.toUnsignedLong(b.getInt(OFF_STORED));
        long rawLen = Integer.toUnsignedLong(b.getInt(OFF_RAW));
        if (rawLen < 1 || rawLen > MAX_BLOCK_BYTES || stored < 1 || stored > rawLen) {
            throw new CorruptDataException(at + ": record lengths stored=" + stored + " raw=" + rawLen
                    + " outside 1 <= stored <= raw <= " + MAX_BLOCK_BYTES);
        }
        if (codec == Codec.RAW && stored != rawLen) {
            throw new CorruptDataException(at + ": raw record stored=" + stored + " != raw=" + rawLen);
        }
        byte[] sha = new byte[32];
        b.get(OFF_SHA, sha);
        return new PackRecord(codec, (int) stored, (int) rawLen, sha, b.getInt(OFF_PAYLOAD_CRC));
    }

    /** Writes this header (with both CRCs) into a new 0x38-byte buffer. */
    ByteBuffer encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, MAGIC);
        b.put(OFF_CODEC, (byte) codec.id());
        b.put(OFF_VERSION, (byte) VERSION);
        b.putShort(OFF_RESERVED, (short) 0);
        b.putInt(OFF_STORED, storedLength);
        b.putInt(OFF_RAW, rawLength);
        b.put(OFF_SHA, sha256);
        b.putInt(OFF_PAYLOAD_CRC, payloadCrc);
        b.putInt(OFF_HEADER_CRC, crc(b, 0, OFF_HEADER_CRC));
        return b;
    }

    static int crc(ByteBuffer b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b.slice(off, len));
        return (int) c.getValue();
    }

    /** CRC-32C of {@code b}'s remaining bytes (heap or direct), position unchanged. */
    static int crc(ByteBuffer b) {
        CRC32C c = new CRC32C();
        c.update(b.duplicate());
        return (int) c.getValue();
    }

    static int crc(byte[] a, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(a, off, len);
        return (int) c.getValue();
    }
}
