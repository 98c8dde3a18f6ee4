package dev.coffer.catalog;

/**
 * Knobs for {@link Catalog#open(java.nio.file.Path, CatalogOptions)}.
 *
 * @param cacheMib page cache of the writer connection in MiB (each reader gets a quarter)
 * @param batchFiles files buffered by a {@link FileIngest} before it writes them in one transaction
 * @param maxSizeBytes quota on the database file size (0 = none); exceeding it is a {@link CatalogFullException}
 * @param readers most concurrent read connections
 */
public record CatalogOptions(int cacheMib, int batchFiles, long maxSizeBytes, int readers) {
    /** Defaults: see each value's comment. */
    public static CatalogOptions defaults() {
        // 256 MiB writer cache: the block primary key of a 1M-file catalog (~60 MiB) and the hot version
        // pages stay cached during a full ingest (docs/perf/catalog.md). 5000 files per transaction: past a
        // few thousand rows the commit cost is noise and a crash loses at most one batch of work.
        return new CatalogOptions(256, 5000, 0, 4);
    }

    public CatalogOptions {
        if (cacheMib < 1 || batchFiles < 1 || maxSizeBytes < 0 || readers < 1) {
            throw new IllegalArgumentException("catalog options cacheMib=" + cacheMib + " batchFiles=" + batchFiles
                    + " maxSizeBytes=" + maxSizeBytes + " readers=" + readers);
        }
    }

    /** These options with a size quota. */
    public CatalogOptions withMaxSizeBytes(long bytes) {
        return new CatalogOptions(cacheMib, batchFiles, bytes, readers);
    }

    /** These options with another ingest batch size. */
    public CatalogOptions withBatchFiles(int files) {
        return new CatalogOptions(cacheMib, files, maxSizeBytes, readers);
    }
}
