package dev.coffer.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.agent.discovery.Discovery;
import dev.coffer.agent.discovery.VirtualMachine;
import dev.coffer.agent.pit.LiveSource;
import dev.coffer.agent.pit.VmSnapshotSource;
import dev.coffer.agent.rebuild.DiskRebuilder;
import dev.coffer.catalog.BackupState;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.DiskInfo;
import dev.coffer.catalog.VolumeInfo;
import dev.coffer.dedup.Destination;
import dev.coffer.testkit.Fixtures;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backs up fixture VMs made by real tools into a real catalog and a real embedded store, then checks
 * every file against icat and every rebuilt disk against the source (blkls, byte compare).
 */
class BackupJobTest {
    @TempDir
    Path tmp;

    private Catalog catalog;
    private Destination dest;

    @BeforeEach
    void open() throws Exception {
        catalog = Catalog.open(tmp.resolve("catalog.db"));
        dest = Destinations.embedded(tmp.resolve("store"));
    }

    @AfterEach
    void close() throws Exception {
        dest.close();
        catalog.close();
    }

    private BackupJob job(int blockBytes) {
        return new BackupJob(catalog, dest, "local:test", BackupOptions.defaults().withBlockBytes(blockBytes),
                Clock.systemUTC());
    }

    @Test
    void mbrAndGptVms_everyFileMatchesIcatAndTheDiskRebuildsExactly() throws Exception {
        for (String scheme : List.of("mbr", "gpt")) {
            Path fx = Fixtures.build("vm-folder", scheme, "winvm");
            Path ds = fx.resolve("datastore");
            VirtualMachine vm = Discovery.load(ds, ds.resolve("winvm/winvm.vmx"));
            BackupJob.Report r = job(64 << 10).run(ds, vm, new LiveSource(), "test", new Counters(), () -> false);
            assertThat(r.complete()).as(scheme).isTrue();
            assertThat(r.info().state()).isEqualTo(BackupState.COMPLETE);
            assertThat(r.files()).isGreaterThan(30);
            checkBackup(r.backupId(), fx.resolve("disk.raw"));
            // the VM's own files come back byte for byte
            Path vmFiles = Files.createDirectories(tmp.resolve("vmfiles-" + scheme));
            long diskId = catalog.disks(r.info().vmId()).get(0).id();
            assertThat(new DiskRebuilder(catalog, dest).writeVmFiles(r.backupId(), diskId, vmFiles))
                    .containsExactlyInAnyOrder("winvm.nvram", "winvm.vmsd", "winvm.vmx");
            for (String f : List.of("winvm.nvram", "winvm.vmsd", "winvm.vmx")) {
                assertThat(vmFiles.resolve(f)).hasSameBinaryContentAs(ds.resolve("winvm").resolve(f));
            }
        }
    }

    @Test
    void snapshotChain_incrementalReadsLittleAndEveryBackupStaysARestorePoint() throws Exception {
        Path chain = Fixtures.build("vmdk-set", "mbr").resolve("chain");
        Path ds = Files.createDirectories(tmp.resolve("ds"));
        Path folder = Files.createDirectories(ds.resolve("vm"));
        for (String f : List.of("base.vmdk", "snap1.vmdk")) {
            Files.copy(chain.resolve(f), folder.resolve(f));
        }
        Files.writeString(folder.resolve("vm.vmx"), "displayName = \"chained\"\nscsi0:0.fileName = \"snap1.vmdk\"\n");
        VirtualMachine vm = Discovery.load(ds, folder.resolve("vm.vmx"));
        BackupJob.Report first = job(64 << 10).run(ds, vm, new LiveSource(), "test", new Counters(), () -> false);
        assertThat(first.complete()).isTrue();
        checkBackup(first.backupId(), chain.resolve("snap1.raw"));

        // the guest writes more: a new delta on top, as when a VM snapshot is taken
        Files.copy(chain.resolve("snap2.vmdk"), folder.resolve("snap2.vmdk"));
        Files.writeString(folder.resolve("vm.vmx"), "displayName = \"chained\"\nscsi0:0.fileName = \"snap2.vmdk\"\n");
        vm = Discovery.load(ds, folder.resolve("vm.vmx"));
        BackupJob.Report second = job(64 << 10).run(ds, vm, new LiveSource(), "test", new Counters(), () -> false);
        assertThat(second.complete()).isTrue();
        assertThat(second.bytesCarried()).as("unchanged files are carried, not read").isGreaterThan(1_000_000);
        assertThat(second.bytesNew()).as("only changed blocks are new").isLessThan(first.bytesNew() / 2);
        checkBackup(second.backupId(), chain.resolve("snap2.raw"));
        // the first backup is still a complete restore point of its own moment
        checkBackup(first.backupId(), chain.resolve("snap1.raw"));

        // frozen parents: the VM snapshot source reads snap1 (below the snap2 the VM writes)
        BackupJob.Report frozen = job(64 << 10).run(ds, vm, new VmSnapshotSource(), "test", new Counters(), () -> false);
        assertThat(catalog.backup(frozen.backupId()).orElseThrow().consistencySource()).isEqualTo("vm-snapshot");
        checkBackup(frozen.backupId(), chain.resolve("snap1.raw"));
    }

    @Test
    void snapshotDelta_aChangedFileReadsOnlyBlocksWrittenSince_unlessAParentChanged() throws Exception {
        Path chain = Fixtures.build("vmdk-set", "mbr").resolve("chain");
        long tracked = incrementalOverSnap3(chain, "tracked", false);
        // snap2 touched after the first backup read it: its identity no longer matches what that backup
        // recorded, so nothing is known about what changed and the changed files are read whole
        long untracked = incrementalOverSnap3(chain, "untracked", true);
        // snap3 rewrote 100 KiB inside the 1 MiB data.bin: at 64 KiB blocks, at most 4 of its 17 blocks
        // (and its last) touch the grains written since; the others come from the first backup
        assertThat(untracked - tracked).as("bytes not read thanks to the delta").isGreaterThan(700_000);
    }

    /** snap2 backed up, then snap3 taken on top of it and backed up again; returns the second backup's bytes read. */
    private long incrementalOverSnap3(Path chain, String name, boolean touchParent) throws Exception {
        Path ds = Files.createDirectories(tmp.resolve(name));
        Path folder = Files.createDirectories(ds.resolve("vm"));
        for (String f : List.of("base.vmdk", "snap1.vmdk", "snap2.vmdk")) {
            Files.copy(chain.resolve(f), folder.resolve(f));
        }
        Files.writeString(folder.resolve("vm.vmx"), "displayName = \"chained\"\nscsi0:0.fileName = \"snap2.vmdk\"\n");
        // a backup records the chain only once its files' times are older than a clock tick (ChainState.settled):
        // these were copied just now, and a warm JVM backs this small disk up in less than that
        Thread.sleep(250);
        try (Catalog cat = Catalog.open(tmp.resolve(name + ".db"));
                Destination store = Destinations.embedded(tmp.resolve(name + "-store"))) {
            BackupJob job = new BackupJob(cat, store, "local:test", BackupOptions.defaults().withBlockBytes(64 << 10),
                    Clock.systemUTC());
            VirtualMachine vm = Discovery.load(ds, folder.resolve("vm.vmx"));
            BackupJob.Report first = job.run(ds, vm, new LiveSource(), "test", new Counters(), () -> false);
            assertThat(first.complete()).isTrue();

            Files.copy(chain.resolve("snap3.vmdk"), folder.resolve("snap3.vmdk"));
            Files.writeString(folder.resolve("vm.vmx"), "displayName = \"chained\"\nscsi0:0.fileName = \"snap3.vmdk\"\n");
            if (touchParent) {
                Files.setLastModifiedTime(folder.resolve("snap2.vmdk"), FileTime.from(Instant.now().plusSeconds(60)));
            }
            vm = Discovery.load(ds, folder.resolve("vm.vmx"));
            BackupJob.Report second = job.run(ds, vm, new LiveSource(), "test", new Counters(), () -> false);
            assertThat(second.complete()).isTrue();
            checkBackup(cat, store, second.backupId(), chain.resolve("snap3.raw"));
            checkBackup(cat, store, first.backupId(), chain.resolve("snap2.raw"));
            return second.bytesRead();
        }
    }

    @Test
    void full_rereadsEveryFile_seesAChangeNoMetadataShows_andSharesUnchangedRows() throws Exception {
        Path fx = Fixtures.build("vm-folder", "mbr", "winvm");
        Path ds = Files.createDirectories(tmp.resolve("flat"));
        Path folder = Files.createDirectories(ds.resolve("vm"));
        Path flat = folder.resolve("vm-flat.vmdk");
        Files.copy(fx.resolve("disk.raw"), flat);
        Files.writeString(folder.resolve("vm.vmdk"), "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n"
                + "parentCID=ffffffff\ncreateType=\"monolithicFlat\"\nRW " + Files.size(flat) / 512
                + " FLAT \"vm-flat.vmdk\" 0\n");
        Files.writeString(folder.resolve("vm.vmx"), "displayName = \"flat\"\nscsi0:0.fileName = \"vm.vmdk\"\n");
        VirtualMachine vm = Discovery.load(ds, folder.resolve("vm.vmx"));
        BackupJob.Report first = job(64 << 10).run(ds, vm, new LiveSource(), "test", new Counters(), () -> false);
        assertThat(first.complete()).isTrue();

        // 4 KiB inside photo.jpg rewritten below NTFS: its MFT record (times, sizes, runs) is as it was
        long sector = 2048;
        String photo = BackupOracle.flsFiles(flat, sector).get("Users/alice/Pictures/photo.jpg");
        Path content = tmp.resolve("photo.jpg");
        Fixtures.run("bash", "-c", "icat -o " + sector + " '" + flat + "' " + photo + " > '" + content + "'");
        long at = diskOffsetOf(flat, Files.readAllBytes(content), sector * 512) + 65536;
        try (FileChannel ch = FileChannel.open(flat, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[4096]), at);
        }
        long vol = catalog.volumes(catalog.disks(first.info().vmId()).get(0).id()).stream()
                .filter(v -> v.fsKind().equals("ntfs")).findFirst().orElseThrow().id();
        String changedMd5 = BackupOracle.icatMd5(flat, sector, photo);
        assertThat(changedMd5).isNotEqualTo(BackupOracle.backupMd5(catalog, dest, first.backupId(), vol,
                "Users/alice/Pictures/photo.jpg"));

        // an incremental trusts the unchanged record and carries the file: the change is not seen
        BackupJob.Report trusting = job(64 << 10).run(ds, vm, new LiveSource(), "test", new Counters(), () -> false);
        assertThat(trusting.bytesCarried()).isGreaterThan(1_000_000);
        assertThat(BackupOracle.backupMd5(catalog, dest, trusting.backupId(), vol, "Users/alice/Pictures/photo.jpg"))
                .isNotEqualTo(changedMd5);

        // --full reads every file again: the backup matches the disk as it is, file for file and cluster for cluster
        BackupJob full = new BackupJob(catalog, dest, "local:test",
                BackupOptions.defaults().withBlockBytes(64 << 10).withReread(true), Clock.systemUTC());
        BackupJob.Report r = full.run(ds, vm, new LiveSource(), "test", new Counters(), () -> false);
        assertThat(r.complete()).isTrue();
        assertThat(r.bytesCarried()).isZero();
        assertThat(r.bytesRead()).isGreaterThanOrEqualTo(first.bytesRead() - 65536);
        assertThat(r.bytesSent()).as("only the rewritten block is new").isLessThanOrEqualTo(2 * 65536 + 16384);
        checkBackup(r.backupId(), flat);
        // a file whose content was the same is still one version, shared by all three backups
        assertThat(catalog.history(vol, "/Documents/Reports/data.bin")).singleElement()
                .satisfies(v -> assertThat(v.backups()).containsExactly(first.backupId(), trusting.backupId(), r.backupId()));
        assertThat(catalog.history(vol, "/Users/alice/Pictures/photo.jpg")).hasSize(2);

        // and the backups after it carry unchanged files forward again
        BackupJob.Report after = job(64 << 10).run(ds, vm, new LiveSource(), "test", new Counters(), () -> false);
        assertThat(after.bytesCarried()).as("at least the files carried before --full").isGreaterThanOrEqualTo(trusting.bytesCarried());
        assertThat(BackupOracle.backupMd5(catalog, dest, after.backupId(), vol, "Users/alice/Pictures/photo.jpg"))
                .isEqualTo(changedMd5);
    }

    /** Where {@code content}'s first 4 KiB lie on the raw disk, searched cluster by cluster from {@code from}. */
    private static long diskOffsetOf(Path raw, byte[] content, long from) throws Exception {
        byte[] head = java.util.Arrays.copyOf(content, 4096);
        ByteBuffer buf = ByteBuffer.allocate(4096);
        try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.READ)) {
            for (long at = from; at + 4096 <= ch.size(); at += 4096) {
                buf.clear();
                ch.read(buf, at);
                if (java.util.Arrays.equals(buf.array(), head)) {
                    return at;
                }
            }
        }
        throw new AssertionError("content not found on " + raw);
    }

    @Test
    void aBrokenDiskFailsAloneAndTheOthersGoOn() throws Exception {
        Path fx = Fixtures.build("vm-folder", "mbr", "winvm");
        Path ds = Files.createDirectories(tmp.resolve("ds"));
        Path folder = Files.createDirectories(ds.resolve("vm"));
        Files.copy(fx.resolve("datastore/winvm/winvm.vmdk"), folder.resolve("good.vmdk"));
        Files.writeString(folder.resolve("broken.vmdk"), "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
                + "RW 2048 FLAT \"missing-flat.vmdk\" 0\n");
        Files.writeString(folder.resolve("vm.vmx"), "scsi0:0.fileName = \"good.vmdk\"\nscsi0:1.fileName = \"broken.vmdk\"\n");
        VirtualMachine vm = Discovery.load(ds, folder.resolve("vm.vmx"));
        BackupJob.Report r = job(1 << 20).run(ds, vm, new LiveSource(), "test", new Counters(), () -> false);
        assertThat(r.complete()).isFalse();
        assertThat(r.info().state()).isEqualTo(BackupState.COMPLETE);
        assertThat(r.disks()).extracting(BackupJob.DiskOutcome::ok).containsExactly(true, false);
        assertThat(r.disks().get(1).error()).contains("broken.vmdk").doesNotContain("\n");

        // a disk the .vmx names but the folder lacks: the disk and what is wrong, once
        Files.writeString(folder.resolve("vm.vmx"), "scsi0:0.fileName = \"good.vmdk\"\nscsi0:1.fileName = \"gone.vmdk\"\n");
        VirtualMachine missing = Discovery.load(ds, folder.resolve("vm.vmx"));
        BackupJob.Report m = job(1 << 20).run(ds, missing, new LiveSource(), "test", new Counters(), () -> false);
        assertThat(m.disks()).extracting(BackupJob.DiskOutcome::ok).containsExactly(true, false);
        assertThat(m.disks().get(1).error()).isEqualTo(folder.resolve("gone.vmdk") + ": no such file");

        Files.writeString(folder.resolve("vm.vmx"), "scsi0:1.fileName = \"broken.vmdk\"\n");
        VirtualMachine onlyBroken = Discovery.load(ds, folder.resolve("vm.vmx"));
        assertThatThrownBy(() -> job(1 << 20).run(ds, onlyBroken, new LiveSource(), "test", new Counters(), () -> false))
                .isInstanceOf(BackupException.class).hasMessageContaining("broken.vmdk");
        assertThat(catalog.backups()).extracting(b -> b.state()).contains(BackupState.FAILED);
    }

    /** Every file matches icat and the rebuilt disk matches the source. */
    private void checkBackup(long backupId, Path sourceRaw) throws Exception {
        checkBackup(catalog, dest, backupId, sourceRaw);
    }

    private void checkBackup(Catalog catalog, Destination dest, long backupId, Path sourceRaw) throws Exception {
        long vmId = catalog.backup(backupId).orElseThrow().vmId();
        for (DiskInfo d : catalog.disks(vmId)) {
            List<VolumeInfo> ntfs = catalog.volumes(d.id()).stream()
                    .filter(v -> v.fsKind().equals("ntfs")).toList();
            assertThat(ntfs).hasSize(1);
            int checked = BackupOracle.assertFilesMatchIcat(catalog, dest, backupId, ntfs.get(0), sourceRaw);
            assertThat(checked).isGreaterThan(30);
            Path rebuilt = tmp.resolve("rebuilt-" + backupId + ".raw");
            new DiskRebuilder(catalog, dest).rebuild(backupId, d.id(), d.capacityBytes(), rebuilt);
            BackupOracle.assertRebuildMatches(sourceRaw, rebuilt, ntfs);
            Files.delete(rebuilt);
        }
    }
}
