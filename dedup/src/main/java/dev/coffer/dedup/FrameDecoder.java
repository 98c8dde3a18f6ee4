package dev.coffer.dedup;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Splits the byte stream into {@link Frame}s (docs/protocol.md, "Transport and framing"), rejecting bad
 * magic, flags, unknown opcodes and oversize lengths as soon as the 16-byte header is in — before any of
 * the body is buffered. With a {@link MemoryBudget} it reserves each frame's body before buffering it
 * and stops reading while it cannot.
 *
 * <p>Stateful, one per channel (never {@code @Sharable}). After the first error it discards all input.
 */
final class FrameDecoder extends ByteToMessageDecoder {
    /** A frame the decoder refuses; carries the protocol error code to answer with. */
    static final class FrameException extends DecoderException {
        private static final long serialVersionUID = 1L;
        final transient ErrorCode code;

        FrameException(ErrorCode code, String message) {
            super(message);
            this.code = code;
        }
    }

    private final String peer;
    private final MemoryBudget budget;
    private final AtomicLong connUsed = new AtomicLong();
    private final long connMax;
    private volatile int maxBody;
    private boolean failed;
    private long offset;
    private boolean waiting;
    /** The reservation for the frame whose header is in but whose body is still arriving. */
    private MemoryBudget.Lease pending;

    /**
     * @param peer names the peer in error messages
     * @param maxBody initial body limit (raised after HELLO with {@link #maxBody(int)})
     * @param budget server memory budget, or null (client: its own requests bound what it receives)
     * @param connMax bytes one connection may hold reserved
     */
    FrameDecoder(String peer, int maxBody, MemoryBudget budget, long connMax) {
        this.peer = peer;
        this.maxBody = maxBody;
        this.budget = budget;
        this.connMax = connMax;
    }

    /** Raises or lowers the body limit (after authentication). */
    void maxBody(int max) {
        this.maxBody = max;
    }

    /** Bytes reserved by frames of this connection that are still being processed. */
    AtomicLong connUsed() {
        return connUsed;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        // one frame per call: ByteToMessageDecoder hands it to the handler before decoding the next, so
        // a HELLO raises the body limit before the frames pipelined behind it are checked
        if (in.readableBytes() >= Wire.HEADER_BYTES) {
            int at = in.readerIndex();
            long length = in.getUnsignedIntLE(at + Wire.OFF_LENGTH);
            int magic = in.getUnsignedShortLE(at + Wire.OFF_MAGIC);
            int op = in.getUnsignedByte(at + Wire.OFF_OPCODE);
            int flags = in.getUnsignedByte(at + Wire.OFF_FLAGS);
            String where = peer + " frame at stream offset 0x" + Long.toHexString(offset);
            if (magic != Wire.MAGIC) {
                fail(in, ErrorCode.MALFORMED_FRAME, where + ": magic expected 0xc0fe, found 0x" + Integer.toHexString(magic));
            }
            if (flags != 0) {
                fail(in, ErrorCode.MALFORMED_FRAME, where + ": flags expected 0, found 0x" + Integer.toHexString(flags));
            }
            if (!Wire.known(op)) {
                fail(in, ErrorCode.UNKNOWN_OPCODE, where + ": unknown opcode 0x" + Integer.toHexString(op));
            }
            if (length > maxBody) {
                fail(in, ErrorCode.FRAME_TOO_LARGE, where + ": body length " + length + " over the limit " + maxBody);
            }
            if (budget != null && length > 0 && pending == null) {
                // reserved before the body is buffered, so buffered bytes are always accounted for
                pending = budget.tryReserve(length, connUsed, connMax, () -> wake(ctx));
                if (pending == null) {
                    waiting = true;
                    ctx.channel().config().setAutoRead(false);
                    return;
                }
            }
            if (in.readableBytes() < Wire.HEADER_BYTES + length) {
                return;
            }
            MemoryBudget.Lease lease = pending;
            pending = null;
            long requestId = in.getLongLE(at + Wire.OFF_REQUEST_ID);
            in.skipBytes(Wire.HEADER_BYTES);
            ByteBuf body = in.readRetainedSlice((int) length);
            offset += Wire.HEADER_BYTES + length;
            out.add(new Frame(op, requestId, body, lease));
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (pending != null) {
            pending.release();
            pending = null;
        }
        super.channelInactive(ctx);
    }

    private void wake(ChannelHandlerContext ctx) {
        ctx.executor().execute(() -> {
            if (!waiting || ctx.isRemoved() || !ctx.channel().isActive()) {
                return;
            }
            waiting = false;
            ctx.channel().config().setAutoRead(true);
            try {
                channelRead(ctx, Unpooled.EMPTY_BUFFER);
                channelReadComplete(ctx);
            } catch (Exception e) {
                ctx.fireExceptionCaught(e);
            }
        });
    }

    private void fail(ByteBuf in, ErrorCode code, String message) {
        failed = true;
        in.skipBytes(in.readableBytes());
        throw new FrameException(code, message);
    }
}
