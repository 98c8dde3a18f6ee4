package dev.coffer.agent.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.testkit.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiscoveryTest {
    @TempDir
    Path tmp;

    @Test
    void scan_findsTheFixtureVmWithItsDiskAndMetadata() throws IOException {
        Path ds = Fixtures.build("vm-folder", "mbr", "winvm").resolve("datastore");
        List<Path> failed = new ArrayList<>();
        List<VirtualMachine> vms = Discovery.scan(ds, (p, e) -> failed.add(p));
        assertThat(failed).isEmpty();
        assertThat(vms).hasSize(1);
        VirtualMachine vm = vms.get(0);
        assertThat(vm.displayName()).isEqualTo("winvm");
        assertThat(vm.uuid()).isEqualTo("564d123456789abcdef0123456789abc");
        assertThat(vm.disks()).extracting(VirtualMachine.VmDisk::slot).containsExactly("scsi0:0");
        assertThat(vm.disks().get(0).leaf().getFileName().toString()).isEqualTo("winvm.vmdk");
        assertThat(vm.metadataFiles()).extracting(p -> p.getFileName().toString())
                .containsExactly("winvm.nvram", "winvm.vmsd", "winvm.vmx");
    }

    @Test
    void load_skipsCdromsAndAbsentDevicesAndOrdersSlots() throws IOException {
        Path vm = Files.createDirectories(tmp.resolve("ds/vm1"));
        Files.writeString(vm.resolve("vm1.vmx"), String.join("\n",
                ".encoding = \"UTF-8\"",
                "displayName = \"Finance |22DB|22\"",
                "scsi0:10.fileName = \"data2.vmdk\"",
                "scsi0:2.fileName = \"data1.vmdk\"",
                "sata0:0.fileName = \"windows.iso\"",
                "sata0:0.deviceType = \"cdrom-image\"",
                "scsi1:0.present = \"FALSE\"",
                "scsi1:0.fileName = \"gone.vmdk\"",
                "coffer.tag.tier = \"gold\"",
                ""));
        VirtualMachine loaded = Discovery.load(tmp.resolve("ds"), vm.resolve("vm1.vmx"));
        assertThat(loaded.displayName()).isEqualTo("Finance \"DB\"");
        assertThat(loaded.disks()).extracting(VirtualMachine.VmDisk::slot).containsExactly("scsi0:2", "scsi0:10");
        assertThat(loaded.tags()).containsEntry("tier", "gold");
    }

    @Test
    void diskKeys_slotOrder_andUuids_readAsTheVmxMeansThem() {
        assertThat(Discovery.diskSlot("scsi0:1.filename")).isEqualTo("scsi0:1");
        assertThat(Discovery.diskSlot("nvme12:3.filename")).isEqualTo("nvme12:3");
        assertThat(Discovery.diskSlot("ide1:0.filename")).isEqualTo("ide1:0");
        assertThat(Discovery.diskSlot("sata0:15.filename")).isEqualTo("sata0:15");
        for (String notADisk : new String[] {"scsi0:1.present", "scsi0.filename", "scsi:1.filename", "usb0:1.filename",
                "scsi00000:1.filename", "scsi0:12345.filename", "scsi0:x.filename", "scsi0:1:2.filename", ".filename",
                "xscsi0:1.filename", "scsi0:١.filename"}) {
            assertThat(Discovery.diskSlot(notADisk)).as(notADisk).isNull();
        }
        assertThat(Discovery.slotKey("scsi0:12")).isEqualTo("scsi0000:0012");
        assertThat(Discovery.slotKey("nvme1234:0")).isEqualTo("nvme1234:0000");
        assertThat(Discovery.slotKey("odd")).isEqualTo("odd");
        assertThat(Discovery.normaliseUuid("56 4d 12 34 56 78 9a bc-de f0 12 34 56 78 9A BC"))
                .isEqualTo("564d123456789abcdef0123456789abc");
        assertThat(Discovery.normaliseUuid(" not a uuid ")).isEqualTo("not a uuid");
    }

    @Test
    void load_refusesDisksOutsideTheDatastore() throws IOException {
        Path vm = Files.createDirectories(tmp.resolve("ds/evil"));
        Files.writeString(vm.resolve("evil.vmx"), "scsi0:0.fileName = \"../../etc/passwd.vmdk\"\n");
        assertThatThrownBy(() -> Discovery.load(tmp.resolve("ds"), vm.resolve("evil.vmx")))
                .isInstanceOf(DiscoveryException.class)
                .hasMessageContaining("evil.vmx")
                .hasMessageContaining("scsi0:0.filename")
                .hasMessageContaining("outside the datastore");

        Files.writeString(vm.resolve("evil.vmx"), "scsi0:0.fileName = \"/etc/shadow.vmdk\"\n");
        assertThatThrownBy(() -> Discovery.load(tmp.resolve("ds"), vm.resolve("evil.vmx")))
                .hasMessageContaining("outside the datastore");

        Path outside = Files.writeString(tmp.resolve("secret.vmdk"), "x");
        Files.createSymbolicLink(vm.resolve("link.vmdk"), outside);
        Files.writeString(vm.resolve("evil.vmx"), "scsi0:0.fileName = \"link.vmdk\"\n");
        assertThatThrownBy(() -> Discovery.load(tmp.resolve("ds"), vm.resolve("evil.vmx")))
                .hasMessageContaining("outside the datastore");
    }

    @Test
    void scan_reportsABrokenVmAndGoesOn() throws IOException {
        Path ds = tmp.resolve("ds");
        Files.createDirectories(ds.resolve("bad"));
        Files.writeString(ds.resolve("bad/bad.vmx"), "this is not a vmx line\n");
        Files.createDirectories(ds.resolve("good"));
        Files.writeString(ds.resolve("good/good.vmx"), "displayName = \"good\"\n");
        Files.createDirectories(ds.resolve("not-a-vm"));
        List<String> errors = new ArrayList<>();
        List<VirtualMachine> vms = Discovery.scan(ds, (p, e) -> errors.add(e.getMessage()));
        assertThat(vms).extracting(VirtualMachine::displayName).containsExactly("good");
        assertThat(errors).singleElement().asString().contains("bad.vmx:1").contains("expected key");
    }

    @Test
    void vmx_isBoundedInSize() throws IOException {
        Path big = tmp.resolve("big.vmx");
        try (var ch = java.nio.channels.FileChannel.open(big, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {'x'}), VmxFile.MAX_BYTES + 1);
        }
        assertThatThrownBy(() -> VmxFile.read(big)).isInstanceOf(DiscoveryException.class)
                .hasMessageContaining("not a VMware configuration file");
    }
}
