package dev.coffer.dedup;

import io.netty.buffer.ByteBuf;
import io.netty.util.AbstractReferenceCounted;
import io.netty.util.ReferenceCounted;

/**
 * One decoded protocol frame: opcode, request id and body (docs/protocol.md, "Transport and framing").
 *
 * <p>Reference-counted: whoever receives a frame releases it once, which releases the body and returns
 * the {@code reservedBytes} it held to the {@link MemoryBudget} it was reserved from (if any).
 */
final class Frame extends AbstractReferenceCounted {
    final int opcode;
    final long requestId;
    final ByteBuf body;
    private final MemoryBudget.Lease lease;

    Frame(int opcode, long requestId, ByteBuf body, MemoryBudget.Lease lease) {
        this.opcode = opcode;
        this.requestId = requestId;
        this.body = body;
        this.lease = lease;
    }

    /** Takes the memory reservation away from this frame so that it outlives the frame (released by the new owner). */
    MemoryBudget.Lease lease() {
        return lease;
    }

    @Override
    protected void deallocate() {
        body.release();
    }

    @Override
    public ReferenceCounted touch(Object hint) {
        body.touch(hint);
        return this;
    }
}
