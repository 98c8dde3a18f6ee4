package dev.coffer.dedup;

import java.time.Duration;

/**
 * Knobs of a {@link BlockStore}. Zero or null fields take the defaults of {@link #withDefaults()}.
 *
 * @param maxPackBytes a pack is sealed and a new one started beyond this size
 * @param maxBatchBytes group commit: the writer appends up to this many bytes, then one fsync acknowledges them all
 * @param verifyThreads threads that check SHA-256 of incoming blocks before they are queued for writing
 * @param compactDeadPercent GC rewrites a sealed pack when at least this percentage of its bytes is garbage
 * @param gcGrace a block asked about ({@code has} hit or duplicate {@code put}) within this window is never collected
 * @param bufferedPackWrites append to packs through the page cache even where direct I/O is available; by
 *     default ({@code false}) records bypass it ({@link PackAppender}: less CPU, and a backup does not evict
 *     what the controller's own workload has cached)
 */
public record StoreOptions(long maxPackBytes, int maxBatchBytes, int verifyThreads, int compactDeadPercent,
        Duration gcGrace, boolean bufferedPackWrites) {
    /** The five tuning knobs, with direct pack writes. */
    public StoreOptions(long maxPackBytes, int maxBatchBytes, int verifyThreads, int compactDeadPercent, Duration gcGrace) {
        this(maxPackBytes, maxBatchBytes, verifyThreads, compactDeadPercent, gcGrace, false);
    }

    /** The defaults. */
    public static StoreOptions defaults() {
        return new StoreOptions(0, 0, 0, 0, null).withDefaults();
    }

    /** This record with every unset field replaced by its default. */
    public StoreOptions withDefaults() {
        return new StoreOptions(
                // 1 GiB: few files for a multi-TB store, yet compaction rewrites at most 1 GiB at a time
                maxPackBytes > 0 ? maxPackBytes : 1L << 30,
                // 32 MiB: at 300 MB/s that is ~10 fsyncs per second, each ~1-5 ms here (docs/perf/dedup.md)
                maxBatchBytes > 0 ? maxBatchBytes : 32 << 20,
                // SHA-256 with SHA-NI runs ~1.4 GB/s per core; one thread per core keeps up with the network
                verifyThreads > 0 ? verifyThreads : Runtime.getRuntime().availableProcessors(),
                // 30%: rewriting a pack that is 70% live costs 0.7 GiB of I/O to free 0.3 GiB
                compactDeadPercent > 0 ? compactDeadPercent : 30,
                // 6 h: longer than a backup's has() -> commit window in practice
                gcGrace != null ? gcGrace : Duration.ofHours(6),
                bufferedPackWrites);
    }
}
