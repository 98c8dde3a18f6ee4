package dev.coffer.vmdk;

import static dev.coffer.vmdk.PartitionTableTest.poke;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.testkit.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Truncated, corrupt and hostile files, each made by poking named fields of a valid image: every one
 * gets a typed exception naming the file and byte offset; never a hang, a huge allocation, or a
 * silently wrong byte. Redundant metadata is used when the primary copy is damaged.
 */
@Timeout(60)
class HostileInputTest {
    @TempDir
    Path tmp;

    private Path copyOf(String fmt) throws IOException {
        Path src = Fixtures.build("vmdk-set", "mbr").resolve(fmt).resolve("disk.vmdk");
        Path dir = Files.createDirectories(tmp.resolve(fmt + System.nanoTime()));
        Path p = dir.resolve("disk.vmdk");
        Files.copy(src, p);
        return p;
    }

    private static String rawMd5() {
        return Fixtures.md5(Fixtures.build("vmdk-set", "mbr").resolve("disk.raw"));
    }

    private static ByteBuffer readAt(Path f, long at, int n) throws IOException {
        try (FileChannel ch = FileChannel.open(f)) {
            ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, at);
            return b.flip();
        }
    }

    private static void putInt(Path f, long at, int v) throws IOException {
        write(f, at, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, v));
    }

    private static void putLong(Path f, long at, long v) throws IOException {
        write(f, at, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v));
    }

    private static void write(Path f, long at, ByteBuffer b) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.write(b, at);
        }
    }

    private static void readAll(VirtualDisk d) throws IOException {
        Oracle.md5(d, 1 << 20);
    }

    @Test
    void sparse_headerFieldsOutOfRangeAreRefusedAtTheirOffset() throws IOException {
        Path p = copyOf("monolithicSparse");
        putLong(p, 0x0C, 1L << 50);
        assertThatThrownBy(() -> VirtualDisk.open(p)).isInstanceOf(LimitExceededImageException.class)
                .hasMessageStartingWith(p + " at 0xc: capacity");
        Path q = copyOf("monolithicSparse");
        putInt(q, 0x2C, 4096);
        assertThatThrownBy(() -> VirtualDisk.open(q)).isInstanceOf(CorruptImageException.class)
                .hasMessageStartingWith(q + " at 0x2c: numGTEsPerGT 4096");
        Path r = copyOf("monolithicSparse");
        putLong(r, 0x14, 0);
        assertThatThrownBy(() -> VirtualDisk.open(r)).isInstanceOf(CorruptImageException.class)
                .hasMessageStartingWith(r + " at 0x14: grain size 0");
        // a capacity needing an absurd grain directory is refused before anything is allocated
        Path s = copyOf("monolithicSparse");
        putLong(s, 0x0C, 1L << 37);
        putLong(s, 0x14, 1);
        putInt(s, 0x2C, 1);
        assertThatThrownBy(() -> VirtualDisk.open(s)).isInstanceOf(LimitExceededImageException.class)
                .hasMessageContaining("grain directory entries");
        Path t = copyOf("monolithicSparse");
        putInt(t, 0x04, 7);
        assertThatThrownBy(() -> VirtualDisk.open(t)).isInstanceOf(UnsupportedImageException.class)
                .hasMessageStartingWith(t + " at 0x4: sparse extent version 7");
    }

    @Test
    void sparse_damagedPrimaryDirectoryFallsBackToTheRedundantOne() throws IOException {
        Path p = copyOf("monolithicSparse");
        ByteBuffer h = readAt(p, 0, 512);
        long gd = h.getLong(0x38) * 512;
        long rgd = h.getLong(0x30) * 512;
        assertThat(h.getInt(0x08) & 2).as("qemu writes a redundant GD").isEqualTo(2);
        putInt(p, gd, 0x7fffff00);
        try (VirtualDisk d = VirtualDisk.open(p)) {
            assertThat(Oracle.md5(d, 1 << 20)).isEqualTo(rawMd5());
        }
        putInt(p, rgd, 0x7ffffff0);
        assertThatThrownBy(() -> VirtualDisk.open(p)).isInstanceOf(CorruptImageException.class)
                .hasMessageStartingWith(p + " at 0x" + Long.toHexString(gd) + ": grain directory entry 0 points to sector");
    }

    @Test
    void sparse_grainTableEntryPastTheEndIsAnErrorUnlessTheRedundantTableIsGood() throws IOException {
        Path p = copyOf("monolithicSparse");
        ByteBuffer h = readAt(p, 0, 512);
        long gt = Integer.toUnsignedLong(readAt(p, h.getLong(0x38) * 512, 4).getInt(0)) * 512;
        long rgt = Integer.toUnsignedLong(readAt(p, h.getLong(0x30) * 512, 4).getInt(0)) * 512;
        putInt(p, gt, 0x7fffff00); // grain 0: the MBR
        try (VirtualDisk d = VirtualDisk.open(p)) {
            assertThat(Oracle.md5(d, 1 << 20)).isEqualTo(rawMd5());
        }
        putInt(p, rgt, 0x7fffff00);
        try (VirtualDisk d = VirtualDisk.open(p)) {
            assertThatThrownBy(() -> d.read(0, ByteBuffer.allocate(512))).isInstanceOf(CorruptImageException.class)
                    .hasMessageStartingWith(p + " at 0x" + Long.toHexString(gt)
                            + ": grain table entry for grain 0 points to 0xfffffe0000");
        }
    }

    @Test
    void sparse_truncatedFileNeverReadsWrongBytes() throws IOException {
        for (String fmt : new String[] {"monolithicSparse", "streamOptimized", "twoGbMaxExtentSparse"}) {
            Path p = copyOf(fmt);
            Path f = fmt.equals("twoGbMaxExtentSparse") ? p.resolveSibling("disk-s001.vmdk") : p;
            if (f != p) {
                Files.copy(Fixtures.build("vmdk-set", "mbr").resolve(fmt).resolve("disk-s001.vmdk"), f);
            }
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() * 3 / 5);
            }
            assertThatThrownBy(() -> {
                try (VirtualDisk d = VirtualDisk.open(p)) {
                    readAll(d);
                }
            }).as(fmt).isInstanceOf(CorruptImageException.class).hasMessageContaining(f.toString())
                    .hasMessageContaining(" at 0x");
        }
    }

    @Test
    void streamOptimized_corruptGrainDataAndMarkersAreCaught() throws IOException {
        Path p = copyOf("streamOptimized");
        ByteBuffer h = readAt(p, 0, 512);
        long gt = Integer.toUnsignedLong(readAt(p, h.getLong(0x38) * 512, 4).getInt(0)) * 512;
        long marker = Integer.toUnsignedLong(readAt(p, gt, 4).getInt(0)) * 512;
        int len = readAt(p, marker + 8, 4).getInt(0);
        Path bad = p.resolveSibling("bad.vmdk");
        Files.copy(p, bad);
        // flip every bit of a byte in the middle of the deflate stream, then read the whole grain:
        // zlib's checks or the adler32 at the grain's end catch it (a partial read may legitimately
        // return the undamaged bytes before the damage, since inflation is sequential)
        long at = marker + 12 + len / 2;
        poke(bad, at, (byte) ~readAt(bad, at, 1).get(0));
        try (VirtualDisk d = VirtualDisk.open(bad)) {
            assertThatThrownBy(() -> d.read(0, ByteBuffer.allocate(65536))).isInstanceOf(CorruptImageException.class)
                    .hasMessageStartingWith(bad + " at 0x" + Long.toHexString(marker + 12) + ": grain 0");
        }
        Path lba = p.resolveSibling("lba.vmdk");
        Files.copy(p, lba);
        putLong(lba, marker, 1234);
        try (VirtualDisk d = VirtualDisk.open(lba)) {
            assertThatThrownBy(() -> d.read(0, ByteBuffer.allocate(512))).isInstanceOf(CorruptImageException.class)
                    .hasMessageContaining("at 0x" + Long.toHexString(marker) + ": grain marker for grain 0, expected lba 0, found 1234");
        }
        Path size = p.resolveSibling("size.vmdk");
        Files.copy(p, size);
        putInt(size, marker + 8, -1);
        try (VirtualDisk d = VirtualDisk.open(size)) {
            assertThatThrownBy(() -> d.read(0, ByteBuffer.allocate(512))).isInstanceOf(CorruptImageException.class)
                    .hasMessageContaining("at 0x" + Long.toHexString(marker + 8) + ": compressed grain size 4294967295");
        }
    }

    /** Moves the grain directory pointer to the footer (GD_AT_END), as VMware's stream writers do. */
    private static void makeGdAtEnd(Path p) throws IOException {
        ByteBuffer header = readAt(p, 0, 512);
        long end = Files.size(p);
        ByteBuffer tail = ByteBuffer.allocate(1536).order(ByteOrder.LITTLE_ENDIAN);
        tail.putLong(0, 1).putInt(8, 0).putInt(12, 3); // footer marker
        tail.put(512, header.array(), 0, 512); // footer: the header with the real gdOffset
        write(p, end, tail); // then the end-of-stream marker (zeros)
        putLong(p, 0x38, -1L); // header: GD_AT_END
    }

    @Test
    void streamOptimized_gdAtEndFooterIsFollowedLikeQemu() throws IOException {
        Path p = copyOf("streamOptimized");
        makeGdAtEnd(p);
        String qemu = Oracle.qemuRawMd5(p, tmp);
        assertThat(qemu).isEqualTo(rawMd5());
        try (VirtualDisk d = VirtualDisk.open(p)) {
            assertThat(d.chain().get(0).extentDetails().get(0)).contains("header from footer");
            assertThat(Oracle.md5(d, 1 << 20)).isEqualTo(qemu);
        }
        Path broken = p.resolveSibling("broken.vmdk");
        Files.copy(p, broken);
        putInt(broken, Files.size(broken) - 1536 + 12, 2);
        assertThatThrownBy(() -> VirtualDisk.open(broken)).isInstanceOf(CorruptImageException.class)
                .hasMessageStartingWith(broken + " at 0x" + Long.toHexString(Files.size(broken) - 1536)
                        + ": footer marker expected");
    }

    private void flat(Path dir, String name, long cid, long parentCid, String parent) throws IOException {
        Files.write(dir.resolve(name + "-flat.vmdk"), new byte[4096]);
        TestImages.writeText(dir.resolve(name + ".vmdk"), TestImages.descriptor(parent == null ? "vmfs" : "vmfsSparse",
                cid, parentCid, parent, "RW 8 VMFS \"" + name + "-flat.vmdk\""));
    }

    @Test
    void chain_loopsAndEscapesAreRefused() throws IOException {
        flat(tmp, "a", 1, 2, "b.vmdk");
        flat(tmp, "b", 2, 1, "a.vmdk");
        assertThatThrownBy(() -> VirtualDisk.open(tmp.resolve("a.vmdk"))).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining(tmp.resolve("b.vmdk") + ": parentFileNameHint \"a.vmdk\" loops back");
        flat(tmp, "self", 3, 3, "self.vmdk");
        assertThatThrownBy(() -> VirtualDisk.open(tmp.resolve("self.vmdk"))).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("loops back");
        Path sub = Files.createDirectories(tmp.resolve("vm"));
        flat(tmp, "outside", 4, Descriptor.NO_PARENT, null);
        flat(sub, "child", 5, 4, "../outside.vmdk");
        assertThatThrownBy(() -> VirtualDisk.open(sub.resolve("child.vmdk"))).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("leaves the descriptor's directory");
        // an absolute parent (ESXi writes /vmfs/volumes/...) is looked up beside the child
        flat(sub, "base", 6, Descriptor.NO_PARENT, null);
        flat(sub, "snap", 7, 6, "/vmfs/volumes/datastore1/vm/base.vmdk");
        try (VirtualDisk d = VirtualDisk.open(sub.resolve("snap.vmdk"))) {
            assertThat(d.chain()).hasSize(2);
        }
    }

    @Test
    void chain_deeperThanTheLimitIsRefused() throws IOException {
        Files.write(tmp.resolve("z-flat.vmdk"), new byte[4096]);
        int depth = 256;
        for (int i = 0; i < depth; i++) {
            TestImages.writeText(tmp.resolve("l" + i + ".vmdk"), TestImages.descriptor("vmfsSparse", i + 1, i + 2,
                    "l" + (i + 1) + ".vmdk", "RW 8 VMFS \"z-flat.vmdk\""));
        }
        TestImages.writeText(tmp.resolve("l" + depth + ".vmdk"), TestImages.descriptor("vmfs", depth + 1,
                Descriptor.NO_PARENT, null, "RW 8 VMFS \"z-flat.vmdk\""));
        assertThatThrownBy(() -> VirtualDisk.open(tmp.resolve("l0.vmdk"))).isInstanceOf(LimitExceededImageException.class)
                .hasMessageContaining("deeper than 255");
        try (VirtualDisk d = VirtualDisk.open(tmp.resolve("l" + (depth - 250) + ".vmdk"))) {
            assertThat(d.chain()).hasSize(251);
        }
    }

    @Test
    void extentPathsNeverLeaveTheDescriptorsDirectory() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("vm"));
        for (String name : new String[] {"../../etc/passwd", "sub/../../x.bin", "/etc/passwd", "C:\\\\x.bin"}) {
            TestImages.writeText(dir.resolve("d.vmdk"), TestImages.descriptor("monolithicFlat", 1,
                    Descriptor.NO_PARENT, null, "RW 1 FLAT \"" + name + "\" 0"));
            assertThatThrownBy(() -> VirtualDisk.open(dir.resolve("d.vmdk"))).as(name)
                    .isInstanceOf(CorruptImageException.class)
                    .hasMessageStartingWith(dir.resolve("d.vmdk") + " at 0x")
                    .hasMessageMatching(".*(leaves the descriptor's directory|absolute path).*");
        }
        Files.createSymbolicLink(dir.resolve("link.bin"), Path.of("/etc/passwd"));
        TestImages.writeText(dir.resolve("d.vmdk"), TestImages.descriptor("monolithicFlat", 1, Descriptor.NO_PARENT,
                null, "RW 1 FLAT \"link.bin\" 0"));
        assertThatThrownBy(() -> VirtualDisk.open(dir.resolve("d.vmdk"))).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("is a link that leaves the descriptor's directory");
    }

    @Test
    void hugeDeclaredCapacityAllocatesNothingAndStillWorks() throws IOException {
        Path d = tmp.resolve("huge.vmdk");
        TestImages.writeText(d, TestImages.descriptor("monolithicFlat", 1, Descriptor.NO_PARENT, null,
                "RW 137438953472 ZERO"));
        try (VirtualDisk disk = VirtualDisk.open(d)) {
            assertThat(disk.size()).isEqualTo(64L << 40);
            assertThat(disk.allocation(0, disk.size())).singleElement()
                    .isEqualTo(new AllocatedRange(0, 64L << 40, 0, AllocatedRange.Kind.ZERO));
            ByteBuffer b = ByteBuffer.allocate(4096);
            disk.read(disk.size() - 4096, b);
            assertThatThrownBy(() -> disk.read(disk.size() - 10, ByteBuffer.allocate(11)))
                    .isInstanceOf(VmdkException.class).hasMessageContaining("past the virtual disk's end");
        }
        TestImages.writeText(d, TestImages.descriptor("monolithicFlat", 1, Descriptor.NO_PARENT, null,
                "RW 137438953473 ZERO"));
        assertThatThrownBy(() -> VirtualDisk.open(d)).isInstanceOf(LimitExceededImageException.class);
        // a flat extent larger than its file
        Files.write(tmp.resolve("small.bin"), new byte[1024]);
        TestImages.writeText(d, TestImages.descriptor("monolithicFlat", 1, Descriptor.NO_PARENT, null,
                "RW 100 FLAT \"small.bin\" 0"));
        assertThatThrownBy(() -> VirtualDisk.open(d)).isInstanceOf(CorruptImageException.class)
                .hasMessageContaining("small.bin: flat extent").hasMessageContaining("needs 0xc800 bytes, file has 0x400");
    }

    @Test
    void filesThatAreNotVmdksSaySo() throws IOException {
        Path empty = tmp.resolve("empty.vmdk");
        Files.write(empty, new byte[0]);
        Path junk = tmp.resolve("junk.vmdk");
        byte[] bytes = new byte[2 << 20];
        new Random(5).nextBytes(bytes);
        Files.write(junk, bytes);
        Path text = tmp.resolve("notes.txt");
        Files.writeString(text, "just some text\nthat is not a disk\n");
        for (Path p : new Path[] {empty, junk, text}) {
            assertThatThrownBy(() -> VirtualDisk.open(p)).isInstanceOf(UnsupportedImageException.class)
                    .hasMessageStartingWith(p + ": not a VMDK");
        }
    }

    @Test
    void cowdAndSeSparseHeadersAreChecked() throws IOException {
        Path c = tmp.resolve("c.vmdk");
        TestImages.cowd(c, 100_000, 1, java.util.Map.of(5L, new TestImages.Data(new byte[512])));
        putInt(c, 0x18, 1); // numGDEntries below what the capacity needs
        assertThatThrownBy(() -> VirtualDisk.open(c)).isInstanceOf(CorruptImageException.class)
                .hasMessageStartingWith(c + " at 0x18: numGDEntries 1, capacity of 100000 sectors needs 25");
        Path s = tmp.resolve("s.vmdk");
        TestImages.seSparse(s, 100_000, java.util.Map.of(5L, new TestImages.Zero()));
        putLong(s, 512 + 0x18, 1); // volatile header: journal needs replay
        assertThatThrownBy(() -> VirtualDisk.open(s)).isInstanceOf(UnsupportedImageException.class)
                .hasMessageStartingWith(s + " at 0x218: seSparse journal needs replay");
        Path s2 = tmp.resolve("s2.vmdk");
        TestImages.seSparse(s2, 100_000, java.util.Map.of(5L, new TestImages.Data(new byte[4096])));
        long gtAt = readAt(s2, 0x90, 8).getLong(0) * 512;
        putLong(s2, gtAt + 5 * 8, 0x3000000000100000L); // allocated grain far past the end
        try (VirtualDisk d = VirtualDisk.open(s2)) {
            assertThatThrownBy(() -> d.read(5 * 4096, ByteBuffer.allocate(4096)))
                    .isInstanceOf(CorruptImageException.class)
                    .hasMessageStartingWith(s2 + " at 0x" + Long.toHexString(gtAt + 40) + ": grain index");
        }
    }
}
