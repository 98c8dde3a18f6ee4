package dev.coffer.agent.backup;

import dev.coffer.dedup.BlockHash;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * Where hashed blocks go: the dedup stage. {@link #offer} returns when the sink no longer needs the
 * buffer (it knew the block, or it has sent or copied it), so the caller can reuse the buffer.
 */
interface BlockSink {
    /**
     * Takes one block; the future completes when {@code data} may be reused. A failure fails the job.
     */
    CompletableFuture<Void> offer(BlockHash hash, ByteBuffer data);
}
