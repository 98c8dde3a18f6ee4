package dev.coffer.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk during ingest: SQLite's own SQLITE_FULL path, reached through the size quota ({@code
 * PRAGMA max_page_count}, the same error a full filesystem gives), surfaces as CatalogFullException and
 * leaves the last committed state intact.
 */
class CatalogFullTest {
    @TempDir
    Path tmp;

    @Test
    void ingest_onFullDisk_failsCleanlyAndKeepsCommittedBackups() throws Exception {
        Path f = tmp.resolve("small.db");
        Workload w = new Workload(300);
        long[] ids;
        try (Catalog cat = Catalog.open(f)) {
            ids = Workload.register(cat);
            w.backup(cat, ids[0], ids[1], 0);
            w.backup(cat, ids[0], ids[1], 1);
        }
        long size = java.nio.file.Files.size(f);
        // room for a little more, not for a whole new tree of 300 files with fresh names
        try (Catalog cat = Catalog.open(f, CatalogOptions.defaults().withMaxSizeBytes(size + 8 * Catalog.PAGE_SIZE)
                .withBatchFiles(25))) {
            long b = cat.beginBackup(ids[0], Instant.EPOCH, "reflink", "overflow");
            assertThatThrownBy(() -> {
                try (FileIngest in = cat.ingest(b, ids[1])) {
                    for (int i = 0; i < 100_000; i++) {
                        in.add(TestFiles.file("/big/unique-name-" + i + "-" + "y".repeat(100), i, 1, "chunk-" + i));
                    }
                    in.finish();
                }
            }).isInstanceOf(CatalogFullException.class).hasMessageContaining(f.toString())
                    .hasMessageContaining("full");
            // the same open catalog still reads, and failing the backup (a delete) still works
            assertThat(w.verify(cat, ids[1])).isEqualTo(1);
            cat.markFailed(b, Instant.EPOCH, "catalog full");
        }
        try (Catalog cat = Catalog.open(f)) {
            cat.checkIntegrity();
            assertThat(w.verify(cat, ids[1])).isEqualTo(1);
            assertThat(cat.findGlob("unique-name-*", java.util.OptionalLong.empty(), 10)).isEmpty();
            w.backup(cat, ids[0], ids[1], 2);
            assertThat(w.verify(cat, ids[1])).isEqualTo(2);
        }
    }
}
