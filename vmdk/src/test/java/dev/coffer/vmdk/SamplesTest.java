package dev.coffer.vmdk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.testkit.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The real VMware-made disks in shared/samples (Workstation in five subformats, ESXi vmfs) read
 * byte-identical to their raw.md5. The samples folder is read-only, so each is copied to a temp
 * folder and its .xz extents decompressed there, beside the descriptor that names them.
 */
class SamplesTest {
    @TempDir
    Path tmp;

    static List<String[]> samples() throws IOException {
        return Files.readAllLines(Fixtures.samples().resolve("raw.md5")).stream()
                .filter(l -> !l.isBlank()).map(l -> l.trim().split("\\s+")).toList();
    }

    /** Copies a sample folder and decompresses its .xz files; returns the disk's main file. */
    static Path unpack(String folder, Path tmp) throws IOException {
        Path src = Fixtures.samples().resolve(folder);
        Path dst = Files.createDirectories(tmp.resolve(folder));
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.toList()) {
                Path copy = dst.resolve(f.getFileName());
                Files.copy(f, copy);
                copy.toFile().setWritable(true);
                if (copy.toString().endsWith(".xz")) {
                    Fixtures.run("xz", "-d", copy.toString());
                }
            }
        }
        try (Stream<Path> files = Files.list(dst)) {
            return files.filter(f -> f.toString().endsWith(".vmdk"))
                    .filter(f -> !f.getFileName().toString().matches(".*-(flat|f\\d{3}|s\\d{3})\\.vmdk"))
                    .reduce((a, b) -> {
                        throw new IllegalStateException("two main files in " + folder + ": " + a + ", " + b);
                    }).orElseThrow();
        }
    }

    @ParameterizedTest
    @MethodSource("samples")
    void open_realVmwareDiskReadsToItsRawMd5(String folder, String md5, String bytes) throws IOException {
        Path main = unpack(folder, tmp);
        try (VirtualDisk disk = VirtualDisk.open(main)) {
            assertThat(disk.size()).isEqualTo(Long.parseLong(bytes));
            assertThat(Oracle.md5(disk, 1 << 20)).isEqualTo(md5);
            assertThat(Oracle.md5(disk, 4096 * 3 + 512)).isEqualTo(md5);
            String expectedType = folder.startsWith("vmware-ws-") ? folder.substring("vmware-ws-".length()) : "vmfs";
            assertThat(disk.chain().get(0).createType()).isEqualTo(expectedType);
            assertThat(disk.chain().get(0).descriptor()).isPresent();
            // allocation agrees with qemu-img map for the same file
            assertThat(disk.allocation(0, disk.size())).isEqualTo(Oracle.qemuMap(main));
        }
    }

    @Test
    void open_esxiDescriptorExposesDdbKeysAndVmfsExtent() throws IOException {
        Path main = unpack("esxi-vmfs-flat", tmp);
        try (VirtualDisk disk = VirtualDisk.open(main)) {
            Layer l = disk.chain().get(0);
            Descriptor d = l.descriptor().orElseThrow();
            assertThat(d.cid()).isEqualTo(0x0172e8a4L);
            assertThat(d.ddb()).containsEntry("ddb.adapterType", "lsilogic")
                    .containsEntry("ddb.longContentID", "c493b057f416b9534001df440172e8a4")
                    .containsEntry("ddb.virtualHWVersion", "14").hasSize(7);
            assertThat(l.extents()).singleElement().satisfies(e -> {
                assertThat(e.type()).isEqualTo(ExtentType.VMFS);
                assertThat(e.fileName()).isEqualTo("vmfs_thick-flat.vmdk");
                assertThat(e.sizeSectors()).isEqualTo(4096);
            });
            assertThat(PartitionTable.read(disk).scheme()).isEqualTo(PartitionTable.Scheme.MBR);
        }
    }

    @Test
    void open_workstationSparseHasRedundantDirectoryAndNtfsAtSector128() throws IOException {
        Path main = unpack("vmware-ws-monolithicSparse", tmp);
        try (VirtualDisk disk = VirtualDisk.open(main)) {
            assertThat(disk.chain().get(0).extentDetails()).singleElement().asString().contains("redundant GD");
            assertThat(disk.chain().get(0).grainSize()).isEqualTo(65536);
            PartitionTable t = PartitionTable.read(disk);
            assertThat(t.partitions()).singleElement().satisfies(p -> {
                assertThat(p.offset()).isEqualTo(128 * 512);
                assertThat(p.kind()).isEqualTo("ntfs/basic-data");
            });
        }
    }
}
