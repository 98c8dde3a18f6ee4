package dev.coffer.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.catalog.BackupInfo;
import dev.coffer.catalog.BackupState;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.VolumeInfo;
import dev.coffer.dedup.Destination;
import dev.coffer.testkit.Fixtures;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills real {@code coffer backup} processes with SIGKILL at random points, then backs up again:
 * nothing interrupted is ever shown complete, the catalog and the store stay consistent, and the
 * next backup completes and reads back exactly.
 */
class BackupKillTest {
    @TempDir
    Path tmp;

    private Process backup(Path catalog, Path store, Path vm) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "dev.coffer.agent.Main",
                "backup", "--source", "live", "--no-throttle", "--catalog", catalog.toString(),
                "--destination", store.toString(), vm.toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
    }

    @Test
    void killedBackupsNeverShowCompleteAndTheNextOneDoes() throws Exception {
        Path fx = Fixtures.build("vm-folder", "mbr", "winvm");
        Path vm = fx.resolve("datastore/winvm");
        Path catalog = tmp.resolve("catalog.db");
        Path store = tmp.resolve("store");
        Random rnd = new Random(Long.getLong("coffer.seed", System.nanoTime()));
        // first let one run to the end to learn how long a backup takes here
        long t0 = System.nanoTime();
        Process p = backup(catalog, store, vm);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(tmp.resolve("child.log"))).isZero();
        long fullMillis = (System.nanoTime() - t0) / 1_000_000;
        for (int round = 0; round < 4; round++) {
            p = backup(catalog, store, vm);
            Thread.sleep(200 + rnd.nextInt((int) Math.max(1, fullMillis)));
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            try (Catalog c = Catalog.open(catalog)) {
                c.checkIntegrity();
                for (BackupInfo b : c.backups()) {
                    assertThat(b.state()).isIn(BackupState.COMPLETE, BackupState.RUNNING, BackupState.FAILED);
                }
            }
        }
        p = backup(catalog, store, vm);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(tmp.resolve("child.log"))).isZero();
        try (Catalog c = Catalog.open(catalog); Destination dest = Destinations.embedded(store)) {
            List<BackupInfo> all = c.backups();
            assertThat(all).noneMatch(b -> b.state() == BackupState.RUNNING);
            assertThat(all.get(all.size() - 1).state()).isEqualTo(BackupState.COMPLETE);
            // every complete backup still reads back exactly: nothing it references was lost
            for (BackupInfo b : all) {
                if (b.state() != BackupState.COMPLETE) {
                    continue;
                }
                VolumeInfo vol = c.volumes(c.disks(b.vmId()).get(0).id()).stream()
                        .filter(v -> v.fsKind().equals("ntfs")).findFirst().orElseThrow();
                BackupOracle.assertFilesMatchIcat(c, dest, b.id(), vol, fx.resolve("disk.raw"));
            }
        }
        assertThat(new File(catalog + ".lock")).exists();
    }
}
