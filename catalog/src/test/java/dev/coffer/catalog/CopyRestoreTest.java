package dev.coffer.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Consistent copies taken while a writer writes, integrity-checked, and catalogs rebuilt from them. */
class CopyRestoreTest {
    @TempDir
    Path tmp;

    @Test
    void copyTo_whileWriting_givesConsistentCopiesThatRestore() throws Exception {
        Workload w = new Workload(200);
        List<Path> copies = new ArrayList<>();
        try (Catalog cat = Catalog.open(tmp.resolve("live.db"), CatalogOptions.defaults().withBatchFiles(40))) {
            long[] ids = Workload.register(cat);
            w.backup(cat, ids[0], ids[1], 0);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try {
                    for (int g = 1; g <= 12; g++) {
                        w.backup(cat, ids[0], ids[1], g);
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            writer.start();
            for (int i = 0; writer.isAlive() && i < 5; i++) {
                Path c = tmp.resolve("copy-" + i + ".db");
                assertThat(cat.copyTo(c)).isEqualTo(Files.size(c));
                copies.add(c);
                Thread.sleep(50);
            }
            writer.join();
            Path last = tmp.resolve("copy-last.db");
            cat.copyTo(last);
            copies.add(last);
            assertThat(failure.get()).isNull();
            assertThat(w.verify(cat, ids[1])).isEqualTo(12);
        }
        assertThat(copies.size()).isGreaterThanOrEqualTo(2);
        int lastGen = -1;
        for (Path c : copies) {
            Path restored = tmp.resolve("restored.db");
            Catalog.restoreFrom(c, restored);
            try (Catalog r = Catalog.open(restored)) {
                r.checkIntegrity();
                int g = w.verify(r, 1);
                assertThat(g).isGreaterThanOrEqualTo(lastGen);
                lastGen = g;
                // a backup running when the copy was taken is dead: the agent fails it at startup
                assertThat(r.failInterrupted(java.time.Instant.now(), "restored from copy")).isBetween(0, 1);
                // a rebuilt catalog carries on: the next generation backs up incrementally over it
                long[] ids = Workload.register(r);
                w.backup(r, ids[0], ids[1], g + 1);
                assertThat(w.verify(r, ids[1])).isEqualTo(g + 1);
            }
        }
        assertThat(lastGen).isEqualTo(12);
        assertThat(tmp.resolve("copy-0.db.tmp")).doesNotExist();
    }

    @Test
    void restoreFrom_refusesCorruptOrForeignCopies() throws Exception {
        Path good = tmp.resolve("good.db");
        try (Catalog cat = Catalog.open(tmp.resolve("live.db"))) {
            Workload.register(cat);
            cat.copyTo(good);
        }
        Path target = tmp.resolve("target.db");
        Files.writeString(target, "keep me");
        byte[] bytes = Files.readAllBytes(good);
        Path torn = tmp.resolve("torn.db");
        byte[] t = bytes.clone();
        for (int i = Catalog.PAGE_SIZE; i < Math.min(t.length, 3 * Catalog.PAGE_SIZE); i++) {
            t[i] = (byte) (i * 31);
        }
        Files.write(torn, t);
        assertThatThrownBy(() -> Catalog.restoreFrom(torn, target)).isInstanceOf(CorruptCatalogException.class)
                .hasMessageContaining(torn.toString());
        Path text = tmp.resolve("text.db");
        Files.writeString(text, "not a catalog at all, definitely not");
        assertThatThrownBy(() -> Catalog.restoreFrom(text, target)).isInstanceOf(CorruptCatalogException.class)
                .hasMessageContaining("header at 0x0");
        assertThatThrownBy(() -> Catalog.restoreFrom(tmp.resolve("missing.db"), target))
                .isInstanceOf(CatalogException.class).hasMessageContaining("does not exist");
        assertThat(Files.readString(target)).isEqualTo("keep me");
        Catalog.restoreFrom(good, target);
        try (Catalog r = Catalog.open(target)) {
            assertThat(r.vms()).hasSize(1);
        }
    }
}
