package dev.coffer.dedup;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
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
 * <p>Large bodies (a 1 MiB {@code PUT}) are not cumulated: once the header is in, the body is assembled
 * as a composite of the socket's own read buffers (retained slices, no copy); only pieces smaller than
 * {@link #MIN_SLICE_BYTES} are copied, into {@link #SMALL_PIECES_BYTES} buffers, so a peer that trickles
 * bytes cannot make a body of millions of components. Netty's cumulation would copy each read into a growing
 * buffer and copy again on every growth; on this 2-core machine memory bandwidth is what the 1 MiB upload
 * path runs out of, so every copy avoided counts (docs/perf/dedup.md).
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
    /** The body being assembled (large frames), its length, opcode and request id; null between frames. */
    private CompositeByteBuf body;
    private int bodyLength;
    private int bodyOpcode;
    private long bodyRequestId;
    /** The buffer collecting small pieces of {@link #body}, already one of its components; null if none. */
    private ByteBuf smallPieces;

    /**
     * Bodies at least this long that are not yet complete are assembled from the read buffers instead of
     * being cumulated: 64 KiB is one socket read, below it the cumulation copies are noise.
     */
    static final int DIRECT_BODY_MIN = 64 << 10;
    /** A received piece at least this long joins the body without a copy (a 16 MiB body: at most 1024 such). */
    static final int MIN_SLICE_BYTES = 16 << 10;
    /** Smaller pieces are copied into buffers of this size (a 16 MiB body: at most 256 + 1024 components). */
    static final int SMALL_PIECES_BYTES = 64 << 10;

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
        if (body != null) {
            take(ctx, in);
            if (body.readableBytes() == bodyLength) {
                ByteBuf done = body;
                body = null;
                MemoryBudget.Lease lease = pending;
                pending = null;
                out.add(new Frame(bodyOpcode, bodyRequestId, done, lease));
            }
            return;
        }
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
                if (length >= DIRECT_BODY_MIN) {
                    // the body goes straight into its own buffer; what is here already is its start
                    bodyOpcode = op;
                    bodyRequestId = in.getLongLE(at + Wire.OFF_REQUEST_ID);
                    in.skipBytes(Wire.HEADER_BYTES);
                    offset += Wire.HEADER_BYTES;
                    body = ctx.alloc().compositeBuffer(Integer.MAX_VALUE); // bounded by take(): no consolidation copies
                    bodyLength = (int) length;
                    take(ctx, in);
                }
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

    /** Bytes of the current body received so far. */
    private int bodyReceived() {
        return body.readableBytes() + (smallPieces == null ? 0 : smallPieces.readableBytes());
    }

    /** Moves what {@code in} holds of the current body into it: large pieces as retained slices, small ones copied. */
    private void take(ChannelHandlerContext ctx, ByteBuf in) {
        int n = Math.min(in.readableBytes(), bodyLength - bodyReceived());
        offset += n;
        if (n >= MIN_SLICE_BYTES) {
            flushSmallPieces();
            body.addComponent(true, in.readRetainedSlice(n));
        } else {
            while (n > 0) {
                if (smallPieces == null) {
                    smallPieces = ctx.alloc().buffer(Math.min(SMALL_PIECES_BYTES, bodyLength - bodyReceived()));
                }
                int k = Math.min(n, smallPieces.writableBytes());
                smallPieces.writeBytes(in, k);
                n -= k;
                if (!smallPieces.isWritable()) {
                    flushSmallPieces();
                }
            }
        }
        if (bodyReceived() == bodyLength) {
            flushSmallPieces();
        }
    }

    private void flushSmallPieces() {
        if (smallPieces != null) {
            body.addComponent(true, smallPieces);
            smallPieces = null;
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        releasePartial();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        releasePartial();
        super.channelInactive(ctx);
    }

    /** Returns the reservation and the buffer of a frame that will never complete. */
    private void releasePartial() {
        if (pending != null) {
            pending.release();
            pending = null;
        }
        if (smallPieces != null) {
            smallPieces.release();
            smallPieces = null;
        }
        if (body != null) {
            body.release();
            body = null;
        }
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
