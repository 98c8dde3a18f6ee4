package dev.coffer.agent.flr;

import dev.coffer.agent.backup.BackupJob;
import dev.coffer.agent.backup.BackupOptions;
import dev.coffer.agent.backup.Counters;
import dev.coffer.agent.discovery.Discovery;
import dev.coffer.agent.pit.LiveSource;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.VolumeInfo;
import dev.coffer.dedup.Destination;
import dev.coffer.testkit.Fixtures;
import java.nio.file.Path;
import java.time.Clock;

/**
 * The restore tests' source: the {@code vm-folder mbr winvm} fixture backed up once (64 KiB blocks)
 * into a real catalog and destination. {@code fixture} holds {@code disk.raw} for icat / istat;
 * {@code ntfs} is the backed-up NTFS volume.
 */
record WinvmBackup(Path fixture, long backupId, VolumeInfo ntfs) {
    static WinvmBackup of(Catalog catalog, Destination dest) throws Exception {
        Path fx = Fixtures.build("vm-folder", "mbr", "winvm");
        Path ds = fx.resolve("datastore");
        BackupJob.Report r = new BackupJob(catalog, dest, "local:t", BackupOptions.defaults().withBlockBytes(64 << 10),
                Clock.systemUTC()).run(ds, Discovery.load(ds, ds.resolve("winvm/winvm.vmx")), new LiveSource(), "t",
                new Counters(), () -> false);
        VolumeInfo vol = catalog.volumes(catalog.disks(r.info().vmId()).get(0).id()).stream()
                .filter(v -> v.fsKind().equals("ntfs")).findFirst().orElseThrow();
        return new WinvmBackup(fx, r.backupId(), vol);
    }
}
