package dev.coffer.dedup;

/**
 * The outcome of {@link BlockStore#gc()}.
 *
 * @param liveBlocks blocks referenced by a committed or in-progress manifest, or recently asked about
 * @param deletedBlocks blocks removed from the index
 * @param deletedRawBytes raw bytes of those blocks
 * @param packsRewritten packs compacted (live records copied, old file deleted)
 * @param bytesReclaimed pack-file bytes freed on disk
 */
public record GcReport(long liveBlocks, long deletedBlocks, long deletedRawBytes, int packsRewritten,
        long bytesReclaimed) {}
