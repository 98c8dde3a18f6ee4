package dev.coffer.agent.pit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.agent.discovery.DiscoveryException;
import dev.coffer.testkit.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PointInTimeTest {
    @TempDir
    Path tmp;

    @Test
    void storageSnapshot_mapsLiveFilesIntoTheSnapshot() throws IOException {
        Path ds = Files.createDirectories(tmp.resolve("ds/vm"));
        Files.writeString(ds.resolve("disk.vmdk"), "live");
        Path snap = Files.createDirectories(tmp.resolve("ds/.zfs/snapshot/hourly-1/vm"));
        Files.writeString(snap.resolve("disk.vmdk"), "frozen");
        var source = new StorageSnapshotSource(tmp.resolve("ds"), "{datastore}/.zfs/snapshot/{snapshot}", "hourly-1");
        assertThat(Files.readString(source.resolve(ds.resolve("disk.vmdk")))).isEqualTo("frozen");
        assertThat(source.consistency()).isEqualTo("storage-snapshot");

        Files.writeString(ds.resolve("new.vmdk"), "after the snapshot");
        assertThatThrownBy(() -> source.resolve(ds.resolve("new.vmdk"))).isInstanceOf(DiscoveryException.class)
                .hasMessageContaining("not in the storage snapshot");
        assertThatThrownBy(() -> new StorageSnapshotSource(tmp.resolve("ds"), "{datastore}/.zfs/snapshot/{snapshot}", ".."))
                .hasMessageContaining("single path component");
        assertThatThrownBy(() -> new StorageSnapshotSource(tmp.resolve("ds"), "{datastore}/.snapshot/{snapshot}", "x"))
                .hasMessageContaining("does not exist");
    }

    @Test
    void reflink_explainsAFilesystemWithoutReflinks() throws IOException {
        // The build directory is on ext4 here, which has no FICLONE.
        Path ds = Files.createDirectories(tmp.resolve("ds/vm"));
        Files.writeString(ds.resolve("disk.vmdk"), "x");
        String fs = Fixtures.run("stat", "-f", "-c", "%T", tmp.toString()).strip();
        assertThat(fs).as("this test needs a filesystem without reflinks").isIn("ext2/ext3", "ext4", "tmpfs", "overlayfs");
        try (var source = new ReflinkCloneSource(tmp.resolve("ds"), "job1")) {
            assertThatThrownBy(() -> source.resolve(ds.resolve("disk.vmdk")))
                    .isInstanceOf(DiscoveryException.class)
                    .hasMessageContaining("does not support reflinks");
        }
    }

    @Test
    void reflink_clonesOnXfsAndTheCloneStaysFrozen() throws IOException {
        Path img = tmp.resolve("xfs.img");
        Path mnt = Files.createDirectories(tmp.resolve("mnt"));
        Fixtures.run("truncate", "-s", "320M", img.toString());
        Fixtures.run("mkfs.xfs", "-q", "-m", "reflink=1", img.toString());
        Fixtures.run("mount", "-o", "loop", img.toString(), mnt.toString());
        try {
            Path vm = Files.createDirectories(mnt.resolve("ds/vm"));
            byte[] data = new byte[3 << 20];
            new Random(7).nextBytes(data);
            Path disk = Files.write(vm.resolve("disk-flat.vmdk"), data);
            try (var source = new ReflinkCloneSource(mnt.resolve("ds"), "job2")) {
                Path clone = source.resolve(disk);
                assertThat(clone).isNotEqualTo(disk).startsWith(mnt.resolve("ds/.coffer-clone-job2"));
                Files.write(disk, new byte[] {1, 2, 3});   // the VM keeps writing
                assertThat(Files.readAllBytes(clone)).isEqualTo(data);
                assertThat(source.resolve(disk)).isEqualTo(clone);
            }
            assertThat(mnt.resolve("ds/.coffer-clone-job2")).doesNotExist();
        } finally {
            Fixtures.run("umount", mnt.toString());
        }
    }
}
