package dev.coffer.vmdk;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.testkit.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every subformat qemu-img writes, and chains made with {@code qemu-img create -b}, read byte-identical
 * to {@code qemu-img convert -O raw}, with allocation maps equal to {@code qemu-img map}.
 * (The fixtures themselves are proven by testkit's FixturesTest.vmdkSet_qemuReportsEverySubformatAndTheChain.)
 */
class VirtualDiskTest {
    static final List<String> SUBFORMATS = List.of("monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse",
            "twoGbMaxExtentFlat", "streamOptimized");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"mbr", "gpt"})
    void open_everySubformatReadsLikeQemu(String scheme) throws IOException {
        Path dir = Fixtures.build("vmdk-set", scheme);
        String rawMd5 = Fixtures.md5(dir.resolve("disk.raw"));
        for (String fmt : SUBFORMATS) {
            Path vmdk = dir.resolve(fmt).resolve("disk.vmdk");
            try (VirtualDisk disk = VirtualDisk.open(vmdk)) {
                assertThat(disk.size()).as(fmt).isEqualTo(Oracle.qemuVirtualSize(vmdk));
                assertThat(disk.chain()).hasSize(1);
                assertThat(disk.chain().get(0).createType()).isEqualTo(fmt);
                String md5 = Oracle.md5(disk, 1 << 20);
                assertThat(md5).as(fmt).isEqualTo(Oracle.qemuRawMd5(vmdk, tmp)).isEqualTo(rawMd5);
                // odd-sized, unaligned reads cross grain and extent boundaries
                assertThat(Oracle.md5(disk, 65536 + 777)).as(fmt + " unaligned").isEqualTo(md5);
                // the files a full read reads ahead: every extent file, once; grained unless flat; the last read within it
                List<ExtentFile> files = disk.chain().get(0).extentFiles();
                try (var listing = java.nio.file.Files.list(vmdk.getParent())) {
                    long extentFiles = listing.filter(p -> !p.getFileName().toString().equals("disk.vmdk")
                            || !fmt.contains("Flat") && !fmt.startsWith("twoGb")).count();
                    assertThat(files).as(fmt).hasSize((int) extentFiles);
                }
                for (ExtentFile f : files) {
                    assertThat(f.grained()).as(fmt).isEqualTo(!fmt.contains("Flat"));
                    assertThat(f.lastRead().getAsLong()).as(fmt + " " + f.path()).isPositive()
                            .isLessThanOrEqualTo(java.nio.file.Files.size(f.path()));
                }
            }
        }
    }

    @Test
    void open_chainFollowsParentsAndReadsLikeQemu() throws IOException {
        Path chain = Fixtures.build("vmdk-set", "mbr").resolve("chain");
        for (String layer : List.of("base", "snap1", "snap2")) {
            Path vmdk = chain.resolve(layer + ".vmdk");
            try (VirtualDisk disk = VirtualDisk.open(vmdk)) {
                assertThat(Oracle.md5(disk, 1 << 20)).as(layer).isEqualTo(Oracle.qemuRawMd5(vmdk, tmp))
                        .isEqualTo(Fixtures.md5(chain.resolve(layer + ".raw")));
            }
        }
        try (VirtualDisk disk = VirtualDisk.open(chain.resolve("snap2.vmdk"))) {
            assertThat(disk.chain()).extracting(l -> l.path().getFileName().toString())
                    .containsExactly("snap2.vmdk", "snap1.vmdk", "base.vmdk");
            assertThat(disk.chain().get(0).parentCid()).isEqualTo(disk.chain().get(1).cid());
            assertThat(disk.chain().get(1).parentCid()).isEqualTo(disk.chain().get(2).cid());
            assertThat(disk.chain().get(2).parentCid()).isEqualTo(Descriptor.NO_PARENT);
        }
    }

    @Test
    void allocation_matchesQemuMapForEveryLayerOfTheChain() throws IOException {
        Path dir = Fixtures.build("vmdk-set", "mbr");
        List<Path> images = new ArrayList<>();
        for (String l : List.of("base", "snap1", "snap2")) {
            images.add(dir.resolve("chain").resolve(l + ".vmdk"));
        }
        images.add(dir.resolve("monolithicSparse/disk.vmdk"));
        images.add(dir.resolve("twoGbMaxExtentSparse/disk.vmdk"));
        images.add(dir.resolve("monolithicFlat/disk.vmdk"));
        for (Path vmdk : images) {
            try (VirtualDisk disk = VirtualDisk.open(vmdk)) {
                assertThat(disk.allocation(0, disk.size())).as(vmdk.toString()).isEqualTo(Oracle.qemuMap(vmdk));
            }
        }
    }

    @Test
    void leafAllocation_isExactlyTheGrainsTheSnapshotWrote() throws IOException {
        Path chain = Fixtures.build("vmdk-set", "mbr").resolve("chain");
        try (VirtualDisk disk = VirtualDisk.open(chain.resolve("snap2.vmdk"))) {
            List<AllocatedRange> leaf = disk.leafAllocation(0, disk.size());
            List<AllocatedRange> expected = new ArrayList<>();
            for (AllocatedRange r : Oracle.qemuMap(chain.resolve("snap2.vmdk"))) {
                Oracle.merge(expected, r.layer() == 0 ? r
                        : new AllocatedRange(r.offset(), r.length(), -1, AllocatedRange.Kind.UNALLOCATED));
            }
            assertThat(leaf).isEqualTo(expected);
            long leafData = leaf.stream().filter(r -> r.kind() == AllocatedRange.Kind.DATA)
                    .mapToLong(AllocatedRange::length).sum();
            assertThat(leafData).isPositive().isLessThan(disk.size() / 4);
            assertThat(disk.chain().get(0).allocatedBytes()).isEqualTo(leafData);
            // a sub-range is the same map clipped
            long from = leaf.get(1).offset() + 512;
            assertThat(disk.leafAllocation(from, 4096).get(0).kind()).isEqualTo(leaf.get(1).kind());
        }
    }

    @Test
    void read_isThreadSafeAndMatchesTheRawDisk() throws Exception {
        Path dir = Fixtures.build("vmdk-set", "mbr");
        Path raw = dir.resolve("chain/snap2.raw");
        List<Path> images = List.of(dir.resolve("chain/snap2.vmdk"), dir.resolve("streamOptimized/disk.vmdk"));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (FileChannel rawCh = FileChannel.open(raw)) {
            for (Path vmdk : images) {
                Path expected = vmdk.toString().contains("chain") ? raw : dir.resolve("disk.raw");
                try (VirtualDisk disk = VirtualDisk.open(vmdk); FileChannel exp = FileChannel.open(expected)) {
                    List<Future<?>> futures = new ArrayList<>();
                    for (int t = 0; t < 4; t++) {
                        long seed = t;
                        futures.add(pool.submit(() -> {
                            Random rnd = new Random(seed);
                            for (int i = 0; i < 300; i++) {
                                int len = 1 + rnd.nextInt(300_000);
                                long off = (long) (rnd.nextDouble() * (disk.size() - len));
                                ByteBuffer got = i % 2 == 0 ? ByteBuffer.allocate(len) : ByteBuffer.allocateDirect(len);
                                disk.read(off, got);
                                ByteBuffer want = ByteBuffer.allocate(len);
                                exp.read(want, off);
                                assertThat(got.flip()).as(vmdk + " @" + off + "+" + len).isEqualTo(want.flip());
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : futures) {
                        f.get();
                    }
                }
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void transferTo_writesTheSameBytesAsRead() throws IOException {
        Path dir = Fixtures.build("vmdk-set", "mbr");
        for (String image : List.of("chain/snap2.vmdk", "streamOptimized/disk.vmdk", "twoGbMaxExtentFlat/disk.vmdk",
                "twoGbMaxExtentSparse/disk.vmdk")) {
            Path vmdk = dir.resolve(image);
            Path out = tmp.resolve("t.raw");
            try (VirtualDisk disk = VirtualDisk.open(vmdk);
                    FileChannel ch = FileChannel.open(out, java.nio.file.StandardOpenOption.CREATE,
                            java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
                long third = disk.size() / 3 + 4321;
                disk.transferTo(0, third, ch);
                disk.transferTo(third, disk.size() - third, ch);
                assertThat(disk.chain().get(0).compressed()).isEqualTo(image.startsWith("stream"));
            }
            assertThat(Fixtures.md5(out)).as(image).isEqualTo(Oracle.qemuRawMd5(vmdk, tmp));
        }
    }

    @Test
    void openRaw_isOneFlatLayer() throws IOException {
        Path raw = Fixtures.build("vmdk-set", "mbr").resolve("disk.raw");
        try (VirtualDisk disk = VirtualDisk.openRaw(raw)) {
            assertThat(disk.chain()).singleElement().extracting(Layer::createType).isEqualTo("raw");
            assertThat(Oracle.md5(disk, 1 << 20)).isEqualTo(Fixtures.md5(raw));
            assertThat(disk.allocation(0, disk.size())).containsExactly(
                    new AllocatedRange(0, disk.size(), 0, AllocatedRange.Kind.DATA));
        }
    }
}
