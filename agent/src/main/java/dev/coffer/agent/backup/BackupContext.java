package dev.coffer.agent.backup;

import dev.coffer.catalog.Catalog;
import java.io.InterruptedIOException;
import java.util.function.BooleanSupplier;

/**
 * What every part of one running backup shares.
 *
 * @param catalog the catalog being written
 * @param backupId the running backup
 * @param pipeline the read/hash workers of this disk
 * @param sink the dedup stage
 * @param blockBytes the block size B
 * @param tailAllowance the most slack bytes read past a stream's end to check they are zero
 * @param counters live figures
 * @param cancelled true once the job is to stop
 */
record BackupContext(Catalog catalog, long backupId, BlockPipeline pipeline, BlockSink sink, int blockBytes,
        int tailAllowance, Counters counters, BooleanSupplier cancelled) {

    void checkCancelled() throws InterruptedIOException {
        if (cancelled.getAsBoolean() || Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException("backup cancelled");
        }
    }
}
