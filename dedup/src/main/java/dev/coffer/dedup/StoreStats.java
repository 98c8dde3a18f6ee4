package dev.coffer.dedup;

/**
 * Space accounting of a {@link BlockStore}.
 *
 * @param blocks distinct blocks indexed
 * @param rawBytes sum of their raw lengths
 * @param storedBytes sum of their stored (compressed) lengths
 * @param packFiles pack files on disk
 * @param packBytes bytes of all pack files (includes garbage not yet compacted and record headers)
 * @param manifests committed manifests
 * @param logicalBytes sum over manifests of the raw bytes they reference (with repeats)
 */
public record StoreStats(long blocks, long rawBytes, long storedBytes, long packFiles, long packBytes,
        long manifests, long logicalBytes) {
    /** Logical bytes per stored byte: dedup and compression together (0 when empty). */
    public double dedupRatio() {
        return storedBytes == 0 ? 0 : (double) logicalBytes / storedBytes;
    }
}
