package dev.coffer.agent.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's probe over several datastores, on a fake sysfs and proc: it watches the union of their
 * disks (a disk under two datastores once, a datastore that cannot be resolved left out and named),
 * samples every one of them, and follows a new set of datastores after {@code watch} again.
 */
class DatastoresProbeTest {
    @TempDir
    Path tmp;
    Path root;
    Path sys;
    Path proc;
    final List<String> mounts = new ArrayList<>();
    final FakeClock clock = new FakeClock();

    private void device(Path dir, String name, String devNo) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.writeString(d.resolve("dev"), devNo + "\n");
        Files.createSymbolicLink(sys.resolve("dev/block").resolve(devNo), d);
        Files.createSymbolicLink(sys.resolve("class/block").resolve(name), d);
    }

    private Path datastore(String name, String devNo, String fsType) throws IOException {
        Path ds = Files.createDirectories(root.resolve(name));
        mounts.add((40 + mounts.size()) + " 1 " + devNo + " / " + ds + " rw,relatime - " + fsType + " /dev/x rw");
        Files.writeString(proc.resolve("mountinfo"), String.join("\n", mounts) + "\n");
        return ds;
    }

    private void diskstats(long sdaReads, long sdbReads) throws IOException {
        Files.writeString(proc.resolve("diskstats"), "   8       0 sda " + sdaReads + " 0 800 40 50 0 400 20 0 55 60\n"
                + "   8      16 sdb " + sdbReads + " 0 800 40 50 0 400 20 0 55 60\n"
                + "   8      32 sdc 7 0 800 40 50 0 400 20 0 55 60\n");
    }

    @BeforeEach
    void fake() throws IOException {
        root = tmp.toRealPath();
        sys = Files.createDirectories(root.resolve("sys"));
        proc = Files.createDirectories(root.resolve("proc"));
        Files.createDirectories(sys.resolve("dev/block"));
        Files.createDirectories(sys.resolve("class/block"));
        Path pci = Files.createDirectories(sys.resolve("devices/pci/block"));
        device(pci, "sda", "8:0");
        device(pci, "sdb", "8:16");
        device(pci, "sdc", "8:32");
        mounts.add("1 0 0:1 / / rw - rootfs rootfs rw");
        diskstats(100, 200);
    }

    @Test
    void watch_theUnionOfEveryDatastoresDisks_andSamplesEachOfThem() throws Exception {
        Path ds1 = datastore("ds1", "8:0", "ext4");
        Path ds2 = datastore("ds2", "8:16", "xfs");
        Path ds3 = datastore("ds3", "8:0", "ext4"); // another datastore on sda
        Path shm = datastore("shm", "0:50", "tmpfs");
        DatastoresProbe probe = new DatastoresProbe(new DeviceResolver(proc, sys), proc, clock);
        DatastoresProbe.Watch w = probe.watch(List.of(ds1, ds2, ds3, shm, root.resolve("gone")));
        assertThat(w.devices()).extracting(BlockDevice::name).containsExactly("sda", "sdb");
        assertThat(w.sets()).hasSize(4);
        assertThat(w.failures()).singleElement().asString().startsWith(root.resolve("gone").toString());
        assertThat(w.psiOnly()).isFalse();

        clock.advanceMillis(100);
        diskstats(150, 260);
        LoadSample s = probe.sample();
        assertThat(s.devices()).extracting(DeviceLoad::name).containsExactly("sda", "sdb");
        assertThat(s.devices()).extracting(DeviceLoad::readIos).containsExactly(50L, 60L);
        assertThat(s.readIos()).isEqualTo(110);

        // the config now names only the tmpfs datastore: pressure only
        DatastoresProbe.Watch psi = probe.watch(List.of(shm));
        assertThat(psi.psiOnly()).isTrue();
        assertThat(probe.watching()).isEqualTo(psi);
        clock.advanceMillis(100);
        diskstats(400, 400);
        assertThat(probe.sample().devices()).isEmpty();

        // and then sdb's only: its counters from the moment it was watched again
        probe.watch(List.of(ds2));
        clock.advanceMillis(100);
        diskstats(500, 407);
        assertThat(probe.sample().devices()).singleElement().extracting(DeviceLoad::name, DeviceLoad::readIos)
                .containsExactly("sdb", 7L);
    }

    @Test
    void sample_beforeAnyWatch_isAnErrorNotAnEmptySample() {
        DatastoresProbe probe = new DatastoresProbe(new DeviceResolver(proc, sys), proc, clock);
        org.assertj.core.api.Assertions.assertThatThrownBy(probe::sample).isInstanceOf(LoadProbeException.class)
                .hasMessageContaining("no datastore watched");
    }
}
