package dev.coffer.agent.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.testkit.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeviceResolverTest {
    @TempDir
    Path tmp;
    Path root;
    Path sys;
    Path proc;
    final List<String> mounts = new ArrayList<>();

    /** A block device directory in the fake sysfs, linked from dev/block and class/block. */
    private Path device(Path dir, String name, String devNo) throws IOException {
        Path d = dir.resolve(name);
        Files.createDirectories(d);
        Files.writeString(d.resolve("dev"), devNo + "\n");
        Files.createSymbolicLink(sys.resolve("dev/block").resolve(devNo), d);
        Files.createSymbolicLink(sys.resolve("class/block").resolve(name), d);
        return d;
    }

    private void slave(Path holder, Path slave) throws IOException {
        Files.createDirectories(holder.resolve("slaves"));
        Files.createSymbolicLink(holder.resolve("slaves").resolve(slave.getFileName()), slave);
    }

    private Path datastore(String name, String devNo, String fsType, String source) throws IOException {
        Path ds = Files.createDirectories(root.resolve(name));
        mounts.add((40 + mounts.size()) + " 1 " + devNo + " / " + ds + " rw,relatime - " + fsType + " "
                + source + " rw");
        return ds;
    }

    private DeviceResolver resolver() throws IOException {
        Files.writeString(proc.resolve("mountinfo"), String.join("\n", mounts) + "\n");
        return new DeviceResolver(proc, sys);
    }

    @BeforeEach
    void fakeSysfs() throws IOException {
        root = tmp.toRealPath();
        sys = Files.createDirectories(root.resolve("sys"));
        proc = Files.createDirectories(root.resolve("proc"));
        Files.createDirectories(sys.resolve("dev/block"));
        Files.createDirectories(sys.resolve("class/block"));
        Path pci = Files.createDirectories(sys.resolve("devices/pci/block"));
        Path virt = Files.createDirectories(sys.resolve("devices/virtual/block"));
        Path sda = device(pci, "sda", "8:0");
        Path sda1 = device(sda, "sda1", "8:1");
        Files.writeString(sda1.resolve("partition"), "1\n");
        device(pci, "sdb", "8:16");
        Path sdc = device(pci, "sdc", "8:32");
        Path sdd = device(pci, "sdd", "8:48");
        Path md0 = device(virt, "md0", "9:0");
        slave(md0, sdc);
        slave(md0, sdd);
        Path dm0 = device(virt, "dm-0", "253:0");
        slave(dm0, sda1);
        slave(dm0, md0);
        Path loop0 = device(virt, "loop0", "7:0");
        Files.createDirectories(loop0.resolve("loop"));
        Files.writeString(loop0.resolve("loop/backing_file"), root.resolve("store/backing.img") + "\n");
        device(virt, "loop1", "7:1");
        mounts.add("1 0 0:1 / / rw - rootfs rootfs rw");
    }

    @Test
    void partition_resolvesToItsDisk() throws Exception {
        Path ds = datastore("ds-part", "8:1", "ext4", "/dev/sda1");
        Files.createDirectories(ds.resolve("vm1"));
        Files.writeString(ds.resolve("vm1/disk.vmdk"), "x");
        DeviceSet set = resolver().resolve(ds.resolve("vm1/disk.vmdk"));
        assertThat(set.devices()).containsExactly(new BlockDevice("sda", 8, 0));
        assertThat(set.mountPoint()).isEqualTo(ds.toString());
        assertThat(set.fsType()).isEqualTo("ext4");
        assertThat(set.note()).contains("sda1 is a partition of sda");
        assertThat(set.psiOnly()).isFalse();
    }

    @Test
    void deviceMapperOverPartitionAndMd_resolvesToEveryPhysicalDisk() throws Exception {
        Path ds = datastore("ds-dm", "253:0", "xfs", "/dev/mapper/vg-ds");
        DeviceSet set = resolver().resolve(ds);
        assertThat(set.devices()).extracting(BlockDevice::name).containsExactlyInAnyOrder("sda", "sdc", "sdd");
        assertThat(set.note()).contains("dm-0 stacks on md0,sda1").contains("md0 stacks on sdc,sdd");
    }

    @Test
    void loopDevice_resolvesThroughItsBackingFile() throws Exception {
        Path store = datastore("store", "8:16", "ext4", "/dev/sdb");
        Files.writeString(store.resolve("backing.img"), "img");
        Path ds = datastore("ds-loop", "7:0", "ext4", "/dev/loop0");
        DeviceSet set = resolver().resolve(ds);
        assertThat(set.devices()).containsExactly(new BlockDevice("sdb", 8, 16));
        assertThat(set.note()).contains("loop0 is a loop device over " + store.resolve("backing.img"));
    }

    @Test
    void loopWithoutBackingFile_fallsBackToPsi() throws Exception {
        Path ds = datastore("ds-loop1", "7:1", "ext4", "/dev/loop1");
        DeviceSet set = resolver().resolve(ds);
        assertThat(set.psiOnly()).isTrue();
        assertThat(set.note()).contains("loop1 has no backing file: pressure-stall information only");
    }

    @Test
    void tmpfsAndOverlay_fallBackToPsiAndSaySo() throws Exception {
        Path t = datastore("ds-tmpfs", "0:50", "tmpfs", "tmpfs");
        Path o = datastore("ds-overlay", "0:51", "overlay", "overlay");
        DeviceResolver r = resolver();
        DeviceSet set = r.resolve(t);
        assertThat(set.psiOnly()).isTrue();
        assertThat(set.note()).isEqualTo("tmpfs at " + t + " has no block device: pressure-stall information only");
        assertThat(r.resolve(o).note()).startsWith("overlay at " + o + " has no block device");
    }

    @Test
    void anonymousDeviceNumber_usesTheMountSource() throws Exception {
        Path ds = datastore("ds-btrfs", "0:52", "btrfs", "/dev/sdb");
        DeviceSet set = resolver().resolve(ds);
        assertThat(set.devices()).containsExactly(new BlockDevice("sdb", 8, 16));
        assertThat(set.note()).contains("btrfs at " + ds + " uses /dev/sdb");
    }

    @Test
    void deviceMissingFromSysfs_fallsBackToPsi() throws Exception {
        Path ds = datastore("ds-gone", "8:99", "ext4", "/dev/sdz");
        assertThat(resolver().resolve(ds).note()).contains("device 8:99 not in sysfs");
    }

    @Test
    void nestedMount_winsOverItsParent() throws Exception {
        datastore("outer", "8:16", "ext4", "/dev/sdb");
        Path inner = Files.createDirectories(root.resolve("outer/inner"));
        mounts.add("90 40 8:32 / " + inner + " rw - ext4 /dev/sdc rw");
        DeviceResolver r = resolver();
        assertThat(r.resolve(inner).devices()).extracting(BlockDevice::name).containsExactly("sdc");
        assertThat(r.resolve(root.resolve("outer")).devices()).extracting(BlockDevice::name).containsExactly("sdb");
    }

    @Test
    void hostileSysfs_givesTypedErrors() throws Exception {
        Path ds = datastore("ds-bad", "8:32", "ext4", "/dev/sdc");
        Files.writeString(sys.resolve("devices/pci/block/sdc/dev"), "garbage\n");
        Path dm0 = sys.resolve("devices/virtual/block/dm-0");
        slave(dm0, dm0); // a cycle: dm-0 on itself
        Path cyc = datastore("ds-cycle", "253:0", "xfs", "/dev/dm-0");
        DeviceResolver r = resolver();
        assertThatThrownBy(() -> r.resolve(ds)).isInstanceOf(LoadProbeException.class)
                .hasMessage(sys.resolve("devices/pci/block/sdc/dev") + ": expected major:minor, found 'garbage'");
        assertThatThrownBy(() -> r.resolve(cyc)).isInstanceOf(LoadProbeException.class)
                .hasMessageContaining("device stack deeper than 16");
    }

    @Test
    void live_repositoryFilesystem_matchesFindmntAndLsblk() throws Exception {
        Path here = Fixtures.repoRoot();
        DeviceSet set = DeviceResolver.system().resolve(here);
        String source = Fixtures.run("findmnt", "-no", "SOURCE", "-T", here.toString()).strip();
        // lsblk -s lists the device and everything it sits on; the disks among them are the answer
        List<String> disks = Fixtures.run("lsblk", "-s", "-nro", "NAME,MAJ:MIN,TYPE", source).lines()
                .map(l -> l.split(" ")).filter(f -> f[2].equals("disk")).map(f -> f[0] + "=" + f[1])
                .distinct().toList();
        assertThat(disks).isNotEmpty();
        assertThat(set.devices()).extracting(d -> d.name() + "=" + d.devNo())
                .containsExactlyInAnyOrderElementsOf(disks);
    }

    @Test
    void live_devShm_isPsiOnly() throws Exception {
        DeviceSet set = DeviceResolver.system().resolve(Path.of("/dev/shm"));
        assertThat(set.fsType()).isEqualTo("tmpfs");
        assertThat(set.psiOnly()).isTrue();
        assertThat(set.note()).contains("has no block device");
    }
}
