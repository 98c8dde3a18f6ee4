package dev.coffer.catalog;

import static dev.coffer.catalog.TestFiles.dir;
import static dev.coffer.catalog.TestFiles.file;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The background checkpoint copies committed WAL frames into the database file while the catalog stays open. */
class CheckpointerTest {
    @TempDir
    Path tmp;

    static boolean checkpointThreadAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().startsWith("catalog-checkpoint") && t.isAlive());
    }

    @Test
    void committedWritesReachTheDatabaseFileWithoutTheWriterCheckpointing() throws Exception {
        Path db = tmp.resolve("c.db");
        try (Catalog cat = Catalog.open(db)) {
            long vm = cat.vm(cat.datastore("/ds"), "vm", "vm", null);
            long vol = cat.volume(cat.disk(vm, "scsi0:0", "/ds/vm/vm.vmdk", List.of("vm.vmdk"), 1 << 30), 1, 0,
                    1 << 30, "ntfs", null, 4096);
            long b = cat.beginBackup(vm, Instant.EPOCH, "snap", "daily");
            try (FileIngest in = cat.ingest(b, vol)) {
                in.add(dir("/", 5));
                for (int i = 0; i < 500; i++) {
                    in.add(file("/f" + i, 100 + i, 1, "content " + i));
                }
                in.finish();
            }
            cat.markComplete(b, Instant.EPOCH);
            assertThat(checkpointThreadAlive()).isTrue();
            // far below the writer's own 64 MiB auto-checkpoint: only the background thread copies these frames
            assertThat(Files.size(db.resolveSibling("c.db-wal"))).isLessThan(Schema.WRITER_AUTOCHECKPOINT_PAGES * 4096L);
            Path copy = tmp.resolve("main-file-only.db");
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (true) {
                // the main file alone (no -wal beside it) holds what is checkpointed
                Files.copy(db, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                Files.deleteIfExists(tmp.resolve("main-file-only.db-wal"));
                Files.deleteIfExists(tmp.resolve("main-file-only.db-shm"));
                try (Catalog c2 = Catalog.open(copy)) {
                    if (c2.backup(b).map(x -> x.state() == BackupState.COMPLETE).orElse(false)) {
                        assertThat(c2.stat(b, vol, "/f499")).isPresent();
                        break;
                    }
                } catch (CatalogException e) {
                    // a copy taken mid-checkpoint may be torn; try again
                }
                assertThat(System.nanoTime()).as("checkpointed within 10 s").isLessThan(deadline);
                Thread.sleep(100);
            }
        }
        assertThat(checkpointThreadAlive()).as("close stops the thread").isFalse();
    }
}
