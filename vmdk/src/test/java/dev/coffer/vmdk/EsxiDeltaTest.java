package dev.coffer.vmdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.testkit.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ESXi snapshot deltas (vmfsSparse/COWD and seSparse) over a vmfs flat base holding a real NTFS disk:
 * the test writes them from the format facts (TestImages), qemu-img reads them, and Coffer must agree
 * byte for byte, and with qemu-img map on what each layer holds.
 */
class EsxiDeltaTest {
    @TempDir
    Path tmp;

    byte[] base;
    byte[] changed;
    long sectors;

    @BeforeEach
    void setUp() throws IOException {
        Path chain = Fixtures.build("vmdk-set", "mbr").resolve("chain");
        base = Files.readAllBytes(chain.resolve("base.raw"));
        changed = Files.readAllBytes(chain.resolve("snap1.raw")); // real NTFS changes made through ntfs-3g
        sectors = base.length / 512;
        Files.write(tmp.resolve("base-flat.vmdk"), base);
        TestImages.writeText(tmp.resolve("base.vmdk"), TestImages.descriptor("vmfs", 0x1234abcdL,
                Descriptor.NO_PARENT, null, "RW " + sectors + " VMFS \"base-flat.vmdk\""));
    }

    /** Grains of {@code grainBytes} where the changed disk differs from the base. */
    private Map<Long, TestImages.Grain> changedGrains(int grainBytes) {
        Map<Long, TestImages.Grain> grains = new HashMap<>();
        for (long g = 0; g < base.length / grainBytes; g++) {
            int from = (int) (g * grainBytes);
            if (!Arrays.equals(base, from, from + grainBytes, changed, from, from + grainBytes)) {
                grains.put(g, new TestImages.Data(Arrays.copyOfRange(changed, from, from + grainBytes)));
            }
        }
        assertThat(grains).hasSizeGreaterThan(10);
        return grains;
    }

    @Test
    void vmfsSparse_cowdDeltaReadsLikeQemu() throws IOException {
        for (int grainSectors : new int[] {1, 8}) {
            Path dir = Files.createDirectories(tmp.resolve("cowd" + grainSectors));
            Files.move(tmp.resolve("base-flat.vmdk"), dir.resolve("base-flat.vmdk"));
            Files.move(tmp.resolve("base.vmdk"), dir.resolve("base.vmdk"));
            TestImages.cowd(dir.resolve("snap-delta.vmdk"), sectors, grainSectors, changedGrains(grainSectors * 512));
            TestImages.writeText(dir.resolve("snap.vmdk"), TestImages.descriptor("vmfsSparse", 0x55aa55aaL,
                    0x1234abcdL, "base.vmdk", "RW " + sectors + " VMFSSPARSE \"snap-delta.vmdk\""));
            Path leaf = dir.resolve("snap.vmdk");
            // the fixture is what it claims: qemu-img sees a vmfsSparse delta over the vmfs base
            assertThat(Fixtures.run("qemu-img", "info", "--backing-chain", leaf.toString()))
                    .contains("create type: vmfsSparse").contains("backing file: base.vmdk")
                    .contains("create type: vmfs\n");
            String qemu = Oracle.qemuRawMd5(leaf, tmp);
            assertThat(qemu).as("qemu reads the test COWD as the changed disk").isEqualTo(md5(changed));
            try (VirtualDisk disk = VirtualDisk.open(leaf)) {
                assertThat(disk.chain()).extracting(Layer::createType).containsExactly("vmfsSparse", "vmfs");
                assertThat(disk.chain().get(0).grainSize()).isEqualTo(grainSectors * 512L);
                assertThat(Oracle.md5(disk, 1 << 20)).isEqualTo(qemu);
                assertThat(disk.allocation(0, disk.size())).isEqualTo(Oracle.qemuMap(leaf));
            }
            // the bare COWD file opens on its own as a one-layer disk of just the delta
            try (VirtualDisk delta = VirtualDisk.open(dir.resolve("snap-delta.vmdk"))) {
                assertThat(delta.chain()).singleElement().extracting(Layer::createType).isEqualTo("vmfsSparse");
                assertThat(delta.size()).isEqualTo(base.length);
            }
            Files.move(dir.resolve("base-flat.vmdk"), tmp.resolve("base-flat.vmdk"));
            Files.move(dir.resolve("base.vmdk"), tmp.resolve("base.vmdk"));
        }
    }

    @Test
    void seSparse_deltaWithZeroAndUnmappedGrainsReadsLikeQemu() throws IOException {
        Map<Long, TestImages.Grain> grains = changedGrains(4096);
        // zero and unmap some grains the base holds data in (sector 0: the MBR; NTFS boot sector area)
        long ntfsGrain = 2048L * 512 / 4096;
        grains.put(0L, new TestImages.Zero());
        grains.put(ntfsGrain + 3, new TestImages.Unmapped());
        grains.put(ntfsGrain + 4, new TestImages.Zero());
        assertThat(Arrays.equals(base, 0, 4096, new byte[4096], 0, 4096)).isFalse();
        TestImages.seSparse(tmp.resolve("snap-sesparse.vmdk"), sectors, grains);
        TestImages.writeText(tmp.resolve("snap.vmdk"), TestImages.descriptor("seSparse", 0x77777777L, 0x1234abcdL,
                "base.vmdk", "RW " + sectors + " SESPARSE \"snap-sesparse.vmdk\""));
        Path leaf = tmp.resolve("snap.vmdk");
        assertThat(Fixtures.run("qemu-img", "info", leaf.toString())).contains("create type: seSparse")
                .contains("backing file: base.vmdk");
        byte[] expected = changed.clone();
        for (long g : List.of(0L, ntfsGrain + 3, ntfsGrain + 4)) {
            Arrays.fill(expected, (int) (g * 4096), (int) (g * 4096 + 4096), (byte) 0);
        }
        String qemu = Oracle.qemuRawMd5(leaf, tmp);
        assertThat(qemu).as("qemu reads the test seSparse as intended").isEqualTo(md5(expected));
        try (VirtualDisk disk = VirtualDisk.open(leaf)) {
            assertThat(disk.chain()).extracting(Layer::createType).containsExactly("seSparse", "vmfs");
            assertThat(Oracle.md5(disk, 1 << 20)).isEqualTo(qemu);
            assertThat(Oracle.md5(disk, 12345)).isEqualTo(qemu);
            assertThat(disk.allocation(0, disk.size())).isEqualTo(Oracle.qemuMap(leaf));
            List<AllocatedRange> leafMap = disk.leafAllocation(0, 3 * 4096);
            assertThat(leafMap.get(0)).isEqualTo(new AllocatedRange(0, 4096, 0, AllocatedRange.Kind.ZERO));
        }
    }

    @Test
    void parentCidMismatchNamesBothFiles() throws IOException {
        TestImages.cowd(tmp.resolve("snap-delta.vmdk"), sectors, 1, changedGrains(512));
        TestImages.writeText(tmp.resolve("snap.vmdk"), TestImages.descriptor("vmfsSparse", 0x55aa55aaL,
                0x0badcafeL, "base.vmdk", "RW " + sectors + " VMFSSPARSE \"snap-delta.vmdk\""));
        assertThatThrownBy(() -> VirtualDisk.open(tmp.resolve("snap.vmdk")))
                .isInstanceOf(CorruptImageException.class)
                .hasMessageContaining(tmp.resolve("snap.vmdk") + ": parentCID 0badcafe does not match CID 1234abcd")
                .hasMessageContaining(tmp.resolve("base.vmdk").toString());
    }

    private static String md5(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
