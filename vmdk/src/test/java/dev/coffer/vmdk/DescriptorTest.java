package dev.coffer.vmdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Descriptor parsing: every createType and extent type, names, encodings, ddb keys, and refusals. */
class DescriptorTest {
    @TempDir
    Path tmp;

    private static Descriptor parse(String text) throws VmdkException {
        return Descriptor.parse(text.getBytes(StandardCharsets.UTF_8), Path.of("d.vmdk"), 0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
        "streamOptimized", "vmfs", "vmfsThin", "vmfsSparse", "seSparse", "vmfsPreallocated", "vmfsEagerZeroedThick"})
    void parse_acceptsEveryFileBackedCreateType(String type) throws VmdkException {
        Descriptor d = parse(TestImages.descriptor(type, 1, Descriptor.NO_PARENT, null, "RW 8 FLAT \"x.bin\" 0"));
        assertThat(d.createType()).isEqualTo(type);
    }

    @ParameterizedTest
    @ValueSource(strings = {"vmfsRaw", "vmfsRawDeviceMap", "vmfsPassthroughRawDeviceMap", "fullDevice",
        "partitionedDevice"})
    void parse_refusesRawDeviceKinds(String type) {
        assertThatThrownBy(() -> parse(TestImages.descriptor(type, 1, Descriptor.NO_PARENT, null,
                "RW 8 VMFSRDM \"x-rdm.vmdk\"")))
                .isInstanceOf(UnsupportedImageException.class).hasMessageContaining("not a file-backed disk")
                .hasMessageContaining("d.vmdk");
    }

    @Test
    void parse_refusesRawDeviceExtentsInAnOtherwiseFileBackedDisk() {
        assertThatThrownBy(() -> parse(TestImages.descriptor("vmfs", 1, Descriptor.NO_PARENT, null,
                "RW 8 VMFSRAW \"x-pt.vmdk\"")))
                .isInstanceOf(UnsupportedImageException.class).hasMessageContaining("not a file-backed disk");
    }

    @Test
    void parse_everyExtentTypeOffsetsSpacesAndDdbKeys() throws VmdkException {
        String text = "# Disk DescriptorFile\r\nversion=1\r\nCID=0000abcd\r\nparentCID=fffffffe\r\n"
                + "createType=\"twoGbMaxExtentFlat\"\r\nparentFileNameHint=\"my parent.vmdk\"\r\n"
                + "RW 100 FLAT \"disk one.bin\" 10\r\n"
                + "RDONLY 200 VMFS \"disk-flat.vmdk\"\r\n"
                + "RW 300 SPARSE \"s 001.vmdk\"\r\n"
                + "RW 400 VMFSSPARSE \"d-delta.vmdk\"\r\n"
                + "NOACCESS 500 SESPARSE \"d-sesparse.vmdk\"\r\n"
                + "RW 600 ZERO\r\n"
                + "ddb.adapterType = \"lsilogic\"\r\nddb.uuid = \"60 00 C2 98\"\r\nddb.empty = \"\"\r\n";
        Descriptor d = parse(text);
        assertThat(d.cid()).isEqualTo(0xabcd);
        assertThat(d.parentCid()).isEqualTo(0xfffffffeL);
        assertThat(d.parentFileNameHint()).contains("my parent.vmdk");
        assertThat(d.extents()).extracting(ExtentDescriptor::type).containsExactly(ExtentType.FLAT, ExtentType.VMFS,
                ExtentType.SPARSE, ExtentType.VMFSSPARSE, ExtentType.SESPARSE, ExtentType.ZERO);
        assertThat(d.extents()).extracting(ExtentDescriptor::fileName).containsExactly("disk one.bin",
                "disk-flat.vmdk", "s 001.vmdk", "d-delta.vmdk", "d-sesparse.vmdk", null);
        assertThat(d.extents()).extracting(ExtentDescriptor::access)
                .containsExactly("RW", "RDONLY", "RW", "RW", "NOACCESS", "RW");
        assertThat(d.extents().get(0).offsetSectors()).isEqualTo(10);
        assertThat(d.extents().get(0).sizeBytes()).isEqualTo(100 * 512);
        assertThat(d.extents().get(2).lineOffset()).isEqualTo(text.indexOf("RW 300"));
        assertThat(d.ddb()).containsExactly(java.util.Map.entry("ddb.adapterType", "lsilogic"),
                java.util.Map.entry("ddb.uuid", "60 00 C2 98"), java.util.Map.entry("ddb.empty", ""));
    }

    @Test
    void parse_decodesDeclaredAndLegacyEncodings() throws VmdkException {
        for (String cs : new String[] {"UTF-8", "windows-1252", "Shift_JIS", "GBK", "Big5"}) {
            String name = cs.equals("windows-1252") ? "Résumé disk.vmdk" : cs.equals("UTF-8") ? "Zürich ✓.vmdk"
                    : cs.equals("Shift_JIS") ? "仮想ディスク.vmdk" : cs.equals("GBK") ? "虚拟磁盘.vmdk" : "虛擬磁碟.vmdk";
            String text = "# Disk DescriptorFile\nversion=1\nencoding=\"" + cs + "\"\nCID=1\nparentCID=ffffffff\n"
                    + "createType=\"monolithicFlat\"\nRW 8 FLAT \"" + name + "\" 0\n";
            Descriptor d = Descriptor.parse(text.getBytes(Charset.forName(cs)), Path.of("d.vmdk"), 0);
            assertThat(d.extents().get(0).fileName()).as(cs).isEqualTo(name);
        }
        // no encoding key, bytes that are not UTF-8: the legacy Windows code page
        String text = "version=1\nCID=1\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\nRW 8 FLAT \"Ré.bin\" 0\n";
        Descriptor d = Descriptor.parse(text.getBytes(Charset.forName("windows-1252")), Path.of("d.vmdk"), 0);
        assertThat(d.extents().get(0).fileName()).isEqualTo("Ré.bin");
        assertThat(d.encoding()).isEqualTo("windows-1252");
    }

    @Test
    void parse_errorsNameFileAndByteOffset() {
        String head = "version=1\nCID=1\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n";
        assertThatThrownBy(() -> parse(head + "RW 8 FLAT disk.bin 0\n"))
                .isInstanceOf(CorruptImageException.class)
                .hasMessageStartingWith("d.vmdk at 0x" + Integer.toHexString(head.length()) + ": extent file name must be quoted");
        assertThatThrownBy(() -> parse(head + "RW 8 WEIRD \"x\"\n"))
                .isInstanceOf(UnsupportedImageException.class).hasMessageContaining("unknown extent type \"WEIRD\"");
        assertThatThrownBy(() -> parse(head + "RW 99999999999999999 FLAT \"x\" 0\n"))
                .isInstanceOf(LimitExceededImageException.class).hasMessageContaining("extent size");
        assertThatThrownBy(() -> parse(head + "RW 99999999999999999999 FLAT \"x\" 0\n"))
                .isInstanceOf(CorruptImageException.class).hasMessageContaining("bad extent size");
        assertThatThrownBy(() -> parse(head.replace("CID=1", "CID=xyz") + "RW 8 FLAT \"x\" 0\n"))
                .isInstanceOf(CorruptImageException.class).hasMessageContaining("CID must be 1-8 hex digits");
        assertThatThrownBy(() -> parse(head.replace("monolithicFlat", "fancyNewType") + "RW 8 FLAT \"x\" 0\n"))
                .isInstanceOf(UnsupportedImageException.class).hasMessageContaining("unknown createType");
        // many extents of the maximum size overflow the capacity limit instead of a long
        String big = head + ("RW 68719476736 FLAT \"x\" 0\n").repeat(3);
        assertThatThrownBy(() -> parse(big)).isInstanceOf(LimitExceededImageException.class)
                .hasMessageContaining("TiB");
    }

    @Test
    void parse_randomBytesAreNotAVmdk() {
        byte[] junk = new byte[4096];
        new Random(7).nextBytes(junk);
        junk[0] = 'Z';
        assertThatThrownBy(() -> Descriptor.parse(junk, Path.of("junk.bin"), 0))
                .isInstanceOf(VmdkException.class).hasMessageContaining("junk.bin");
        assertThatThrownBy(() -> parse("hello world\n"))
                .isInstanceOf(UnsupportedImageException.class).hasMessageContaining("not a VMDK");
    }

    @Test
    void open_multipleFlatExtentsWithOffsetsAndSpacesReadLikeQemu() throws IOException {
        byte[] a = new byte[300 * 512];
        byte[] b = new byte[50 * 512];
        new Random(1).nextBytes(a);
        new Random(2).nextBytes(b);
        Files.write(tmp.resolve("part one.bin"), a);
        Files.write(tmp.resolve("part two.bin"), b);
        Path desc = tmp.resolve("my disk.vmdk");
        TestImages.writeText(desc, TestImages.descriptor("monolithicFlat", 1, Descriptor.NO_PARENT, null,
                "RW 100 FLAT \"part one.bin\" 10", "RW 50 FLAT \"part two.bin\" 0", "RW 150 FLAT \"part one.bin\" 150"));
        String qemu = Oracle.qemuRawMd5(desc, tmp);
        try (VirtualDisk disk = VirtualDisk.open(desc)) {
            assertThat(disk.size()).isEqualTo(300 * 512);
            assertThat(Oracle.md5(disk, 7 * 512 + 3)).isEqualTo(qemu);
            assertThat(disk.chain().get(0).extents()).hasSize(3);
            // each file once, in extent order (what a full backup reads ahead)
            List<ExtentFile> files = disk.chain().get(0).extentFiles();
            assertThat(files).extracting(f -> f.path().getFileName().toString())
                    .containsExactly("part one.bin", "part two.bin");
            assertThat(files).noneMatch(ExtentFile::grained);
            // the whole disk was read above, in order: each file's last read ended where its last extent does
            assertThat(files.get(0).lastRead().getAsLong()).isEqualTo(300 * 512);
            assertThat(files.get(1).lastRead().getAsLong()).isEqualTo(50 * 512);
        }
    }

    @Test
    void open_zeroExtentReadsZerosAndMapsAsZero() throws IOException {
        byte[] a = new byte[64 * 512];
        new Random(3).nextBytes(a);
        Files.write(tmp.resolve("a.bin"), a);
        Path desc = tmp.resolve("z.vmdk");
        TestImages.writeText(desc, TestImages.descriptor("monolithicFlat", 1, Descriptor.NO_PARENT, null,
                "RW 32 FLAT \"a.bin\" 0", "RW 16 ZERO", "RW 32 FLAT \"a.bin\" 32"));
        try (VirtualDisk disk = VirtualDisk.open(desc)) {
            byte[] all = new byte[(int) disk.size()];
            disk.read(0, java.nio.ByteBuffer.wrap(all));
            byte[] expected = new byte[80 * 512];
            System.arraycopy(a, 0, expected, 0, 32 * 512);
            System.arraycopy(a, 32 * 512, expected, 48 * 512, 32 * 512);
            assertThat(Arrays.equals(all, expected)).isTrue();
            assertThat(disk.chain().get(0).extentFiles()).extracting(f -> f.path().getFileName().toString())
                    .containsExactly("a.bin");
            assertThat(disk.allocation(0, disk.size())).containsExactly(
                    new AllocatedRange(0, 32 * 512, 0, AllocatedRange.Kind.DATA),
                    new AllocatedRange(32 * 512, 16 * 512, 0, AllocatedRange.Kind.ZERO),
                    new AllocatedRange(48 * 512, 32 * 512, 0, AllocatedRange.Kind.DATA));
        }
    }
}
