package dev.coffer.agent.rebuild;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.backup.BackupJob;
import dev.coffer.agent.backup.BackupOptions;
import dev.coffer.agent.backup.Counters;
import dev.coffer.agent.backup.Destinations;
import dev.coffer.agent.discovery.Discovery;
import dev.coffer.agent.pit.LiveSource;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.DiskInfo;
import dev.coffer.dedup.Destination;
import dev.coffer.testkit.Fixtures;
import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk exported front to back (raw, and as a streamOptimized VMDK that qemu-img reads) equals the
 * disk the random-access rebuilder writes, which the backup tests compare with the source.
 */
class DiskExportTest {
    @TempDir
    Path tmp;

    @Test
    void rawStreamAndStreamOptimizedVmdkEqualTheRebuild() throws Exception {
        Path ds = Fixtures.build("vm-folder", "gpt", "winvm").resolve("datastore");
        try (Catalog catalog = Catalog.open(tmp.resolve("c.db")); Destination dest = Destinations.embedded(tmp.resolve("s"))) {
            BackupJob.Report r = new BackupJob(catalog, dest, "local:t", BackupOptions.defaults().withBlockBytes(64 << 10),
                    Clock.systemUTC()).run(ds, Discovery.load(ds, ds.resolve("winvm/winvm.vmx")), new LiveSource(), "t",
                    new Counters(), () -> false);
            DiskInfo d = catalog.disks(r.info().vmId()).get(0);
            Path rebuilt = tmp.resolve("rebuilt.raw");
            new DiskRebuilder(catalog, dest).rebuild(r.backupId(), d.id(), d.capacityBytes(), rebuilt);

            DiskLayout layout = DiskLayout.of(catalog, r.backupId(), d.id(), d.capacityBytes());
            Path streamed = tmp.resolve("streamed.raw");
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(streamed))) {
                new DiskExport(dest, layout).writeRaw(out);
            }
            assertThat(Fixtures.md5(streamed)).isEqualTo(Fixtures.md5(rebuilt));

            Path vmdk = tmp.resolve("export.vmdk");
            long grains;
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(vmdk))) {
                grains = new DiskExport(dest, layout).writeStreamOptimized(out, "export.vmdk");
            }
            assertThat(grains).isPositive();
            assertThat(Fixtures.run("qemu-img", "info", vmdk.toString())).contains("create type: streamOptimized");
            Fixtures.run("qemu-img", "check", vmdk.toString());
            Path viaQemu = tmp.resolve("via-qemu.raw");
            Fixtures.run("qemu-img", "convert", "-f", "vmdk", "-O", "raw", vmdk.toString(), viaQemu.toString());
            assertThat(Fixtures.md5(viaQemu)).isEqualTo(Fixtures.md5(rebuilt));
            assertThat(Files.size(vmdk)).isLessThan(d.capacityBytes() / 4);
        }
    }
}
