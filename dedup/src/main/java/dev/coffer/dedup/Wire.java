package dev.coffer.dedup;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;

/**
 * Constants and body layouts of protocol version 1 (docs/protocol.md). Encoders produce frames as
 * header + body {@link ByteBuf}s; parsers read bodies with every length checked against the bytes present.
 */
final class Wire {
    private Wire() {}

    /**
     * The buffer allocator of both ends. Netty 4.2's default (adaptive) costs more CPU per 1 MiB frame than
     * the pooled allocator here, and its large allocation paths keep the JIT busy for the first gigabytes:
     * over loopback the pooled one used ~4% less CPU per MiB uploaded (docs/perf/dedup.md).
     */
    static final io.netty.buffer.ByteBufAllocator ALLOCATOR = io.netty.buffer.PooledByteBufAllocator.DEFAULT;

    static final int VERSION = 1;
    static final int HEADER_BYTES = 0x10;
    static final int MAGIC = 0xC0FE;
    static final int OFF_LENGTH = 0x00;
    static final int OFF_MAGIC = 0x04;
    static final int OFF_OPCODE = 0x06;
    static final int OFF_FLAGS = 0x07;
    static final int OFF_REQUEST_ID = 0x08;
    /** Largest block: 16 MiB raw (also PackRecord.MAX_BLOCK_BYTES). */
    static final int MAX_BLOCK_BYTES = PackRecord.MAX_BLOCK_BYTES;
    /** Largest body: a 16 MiB block plus its 37-byte PUT header, rounded up to 64 KiB of slack. */
    static final int MAX_BODY_BYTES = MAX_BLOCK_BYTES + (64 << 10);
    /** Largest body before HELLO succeeds: HELLO is at most 6 + 512 + 2 + 256 bytes. */
    static final int MAX_HELLO_BODY_BYTES = 1024;
    /** Hashes per HAS or MANIFEST_PART frame: 2 MiB of hashes. */
    static final int MAX_BATCH = 65536;
    static final int MAX_TOKEN_BYTES = 512;
    static final int MAX_NAME_BYTES = 256;
    static final int MAX_MESSAGE_BYTES = 1024;

    static final int HELLO = 0x01;
    static final int HAS = 0x02;
    static final int PUT = 0x03;
    static final int GET = 0x04;
    static final int MANIFEST_PART = 0x05;
    static final int MANIFEST_COMMIT = 0x06;
    static final int LIST = 0x07;
    static final int DELETE_MANIFEST = 0x08;
    static final int PING = 0x09;
    static final int FINISH = 0x0A;
    static final int HELLO_OK = 0x81;
    static final int HAS_OK = 0x82;
    static final int PUT_OK = 0x83;
    static final int GET_OK = 0x84;
    static final int LIST_OK = 0x87;
    static final int PONG = 0x89;
    static final int OK = 0x8A;
    static final int ERROR = 0xFF;

    /** Whether {@code op} is an opcode of version 1 (either direction). */
    static boolean known(int op) {
        return (op >= HELLO && op <= FINISH) || op == HELLO_OK || op == HAS_OK || op == PUT_OK || op == GET_OK
                || op == LIST_OK || op == PONG || op == OK || op == ERROR;
    }

    /** A frame ready to write: header + body as one composite buffer (the body is not copied). */
    static ByteBuf frame(ByteBufAllocator alloc, int opcode, long requestId, ByteBuf body) {
        ByteBuf h = alloc.buffer(HEADER_BYTES, HEADER_BYTES);
        h.writeIntLE(body.readableBytes());
        h.writeShortLE(MAGIC);
        h.writeByte(opcode);
        h.writeByte(0);
        h.writeLongLE(requestId);
        return Unpooled.wrappedBuffer(h, body);
    }

    static ByteBuf error(ByteBufAllocator alloc, long requestId, ErrorCode code, String message) {
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        int n = Math.min(m.length, MAX_MESSAGE_BYTES);
        ByteBuf b = alloc.buffer(5 + n);
        b.writeShortLE(code.code());
        b.writeByte(code.fatal() ? 1 : 0);
        b.writeShortLE(n);
        b.writeBytes(m, 0, n);
        return frame(alloc, ERROR, requestId, b);
    }

    static void writeString(ByteBuf b, String s) {
        byte[] a = s.getBytes(StandardCharsets.UTF_8);
        b.writeShortLE(a.length);
        b.writeBytes(a);
    }

    // ------------------------------------------------------------ parsing (hostile input)

    /** Reads bodies with bounds checks; every failure names the frame. */
    static final class Reader {
        private final ByteBuf b;
        private final String where;

        Reader(ByteBuf b, String where) {
            this.b = b;
            this.where = where;
        }

        private void need(int n, String what) throws CorruptDataException {
            if (b.readableBytes() < n) {
                throw new CorruptDataException(where + ": " + what + " needs " + n + " bytes at body offset 0x"
                        + Integer.toHexString(b.readerIndex()) + ", found " + b.readableBytes());
            }
        }

        int u8(String what) throws CorruptDataException {
            need(1, what);
            return b.readUnsignedByte();
        }

        int u16(String what) throws CorruptDataException {
            need(2, what);
            return b.readUnsignedShortLE();
        }

        long u32(String what) throws CorruptDataException {
            need(4, what);
            return b.readUnsignedIntLE();
        }

        long i64(String what) throws CorruptDataException {
            need(8, what);
            return b.readLongLE();
        }

        byte[] bytes(int n, String what) throws CorruptDataException {
            need(n, what);
            byte[] a = new byte[n];
            b.readBytes(a);
            return a;
        }

        /** u32 count in 1..max (or 0..max), then that many 32-byte hashes. */
        byte[][] hashes(int min, int max, String what) throws DedupException {
            long count = u32(what + " count");
            if (count < min || count > max) {
                throw new LimitExceededException(where + ": " + what + " count " + count + " outside " + min + ".." + max);
            }
            need(Math.multiplyExact((int) count, 32), what);
            byte[][] out = new byte[(int) count][];
            for (int i = 0; i < count; i++) {
                out[i] = new byte[32];
                b.readBytes(out[i]);
            }
            return out;
        }

        String string(int max, String what) throws DedupException {
            int n = u16(what + " length");
            if (n > max) {
                throw new LimitExceededException(where + ": " + what + " length " + n + " over " + max);
            }
            return new String(bytes(n, what), StandardCharsets.UTF_8);
        }

        int remaining() {
            return b.readableBytes();
        }

        void end() throws CorruptDataException {
            if (b.isReadable()) {
                throw new CorruptDataException(where + ": " + b.readableBytes() + " trailing bytes after the body");
            }
        }
    }
}
