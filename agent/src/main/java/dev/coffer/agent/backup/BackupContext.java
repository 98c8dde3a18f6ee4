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
 * @param changed the disk byte ranges that may differ from what the previous backup read ({@link
 *     ChainState}); null when unknown, and then every block of a changed file is read
 * @param reread every file is read, none carried forward on its metadata alone ({@code --full})
 */
record BackupContext(Catalog catalog, long backupId, BlockPipeline pipeline, BlockSink sink, int blockBytes,
        int tailAllowance, Counters counters, BooleanSupplier cancelled, Extents changed, boolean reread) {

    void checkCancelled() throws InterruptedIOException {
        if (cancelled.getAsBoolean() || Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException("backup cancelled");
        }
    }
}
