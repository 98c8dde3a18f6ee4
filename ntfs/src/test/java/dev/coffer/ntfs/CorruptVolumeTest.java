package dev.coffer.ntfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.testkit.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Corruption tests: start from a valid volume built by mkntfs + ntfs-3g, poke bytes at named
 * offsets, and check that the damage is reported with the MFT record number and volume offset,
 * that the rest of the volume still reads, and that nothing loops.
 */
class CorruptVolumeTest {
    static byte[] image(String recipe, String cluster) throws Exception {
        return Files.readAllBytes(Fixtures.build(recipe, cluster).resolve("volume.raw"));
    }

    /** Volume offset of the first attribute of {@code type} in the record at {@code rec}. */
    static int attribute(byte[] v, long rec, int type) {
        int p = (int) rec + Le.u16(v, (int) rec + 0x14);
        while (Le.i32(v, p) != -1) {
            if (Le.i32(v, p) == type) {
                return p;
            }
            p += Le.i32(v, p + 4);
        }
        throw new AssertionError("no attribute " + type);
    }

    /** Undoes the update sequence of the 1 KiB record at {@code rec} so its bytes can be edited in place. */
    static void unfix(byte[] v, long rec) throws Exception {
        Fixup.apply(v, (int) rec, 1024, "test");
    }

    /** Re-applies the update sequence after an edit (the inverse of {@link #unfix}). */
    static void refix(byte[] v, long rec) {
        int r = (int) rec;
        int usa = r + Le.u16(v, r + 4);
        for (int i = 1; i <= 2; i++) {
            int end = r + i * 512 - 2;
            v[usa + 2 * i] = v[end];
            v[usa + 2 * i + 1] = v[end + 1];
            v[end] = v[usa];
            v[end + 1] = v[usa + 1];
        }
    }

    static long offsetOf(byte[] v, String path, long[] number) throws Exception {
        try (NtfsVolume vol = NtfsVolume.open(Vols.bytes(v))) {
            FileRecord f = vol.lookup(path).orElseThrow();
            number[0] = f.mftRecordNumber();
            return vol.recordOffset(f.mftRecordNumber());
        }
    }

    @Test
    void badFixup_reportedWithRecordAndOffset_restReadable() throws Exception {
        byte[] v = image("ntfs-small", "4096");
        long[] n = new long[1];
        long off = offsetOf(v, "Documents/hello.txt", n);
        v[(int) off + 510] ^= 0x5A;
        List<NtfsException> errors = new ArrayList<>();
        try (NtfsVolume vol = NtfsVolume.open(Vols.bytes(v), errors::add)) {
            VolumeTree tree = vol.tree();
            assertThat(errors).singleElement().isInstanceOf(CorruptNtfsException.class).extracting(Throwable::getMessage)
                    .asString().contains("MFT record " + n[0] + " at 0x" + Long.toHexString(off))
                    .contains("update sequence mismatch at +0x1fe");
            assertThat(tree.record(n[0])).isNull();
            assertThat(vol.lookup("Documents/Reports/q1.csv")).isPresent();
            assertThatThrownBy(() -> vol.record(n[0])).isInstanceOf(CorruptNtfsException.class)
                    .hasMessageContaining("MFT record " + n[0]);
        }
    }

    @Test
    void attributeLengthOutOfBounds_reported() throws Exception {
        byte[] v = image("ntfs-small", "4096");
        long[] n = new long[1];
        long off = offsetOf(v, "Documents/Reports/q1.csv", n);
        int a = attribute(v, off, Attribute.STANDARD_INFORMATION);
        v[a + 4] = (byte) 0xF0;
        v[a + 7] = 0x7F;
        List<NtfsException> errors = new ArrayList<>();
        try (NtfsVolume vol = NtfsVolume.open(Vols.bytes(v), errors::add)) {
            vol.tree();
            assertThat(errors).singleElement().extracting(Throwable::getMessage).asString()
                    .contains("MFT record " + n[0] + " at 0x" + Long.toHexString(off))
                    .contains("attribute at +0x" + Integer.toHexString((int) (a - off)) + " length out of bounds");
            assertThat(vol.lookup("Documents/hello.txt")).isPresent();
        }
    }

    @Test
    void runPastTheVolume_reported() throws Exception {
        byte[] v = image("ntfs-small", "4096");
        long[] n = new long[1];
        long off = offsetOf(v, "Documents/Reports/data.bin", n);
        int a = attribute(v, off, Attribute.DATA);
        int runs = a + Le.u16(v, a + 0x20);
        int lenBytes = v[runs] & 0x0F;
        int offBytes = (v[runs] >> 4) & 0x0F;
        v[runs + lenBytes + offBytes] = 0x7F; // most significant byte of the first lcn: far past the end
        List<NtfsException> errors = new ArrayList<>();
        try (NtfsVolume vol = NtfsVolume.open(Vols.bytes(v), errors::add)) {
            VolumeTree tree = vol.tree();
            assertThat(errors).singleElement().extracting(Throwable::getMessage).asString()
                    .contains("MFT record " + n[0]).contains("lies past the volume");
            assertThat(tree.children(tree.root())).isNotEmpty();
        }
    }

    @Test
    void indexLoop_reportedAndStops() throws Exception {
        byte[] v = image("ntfs-rich", "4096");
        long[] n = new long[1];
        long off = offsetOf(v, "big", n);
        unfix(v, off);
        int a = attribute(v, off, Attribute.INDEX_ROOT);
        int value = a + Le.u16(v, a + 0x14);
        int hdr = value + 0x10;
        int p = hdr + Le.i32(v, hdr);
        List<Integer> vcnAt = new ArrayList<>();
        while (true) {
            int len = Le.u16(v, p + 8);
            int flags = Le.u16(v, p + 12);
            if ((flags & 1) != 0) {
                vcnAt.add(p + len - 8);
            }
            if ((flags & 2) != 0) {
                break;
            }
            p += len;
        }
        assertThat(vcnAt).hasSizeGreaterThan(1);
        System.arraycopy(v, vcnAt.get(0), v, vcnAt.get(1), 8); // two sub-nodes, one block
        refix(v, off);
        List<NtfsException> errors = new ArrayList<>();
        try (NtfsVolume vol = NtfsVolume.open(Vols.bytes(v), errors::add)) {
            List<DirectoryEntry> entries = vol.list(n[0]);
            assertThat(errors).singleElement().extracting(Throwable::getMessage).asString()
                    .contains("MFT record " + n[0] + " $I30").contains("index loop");
            assertThat(entries).hasSizeGreaterThan(10).hasSizeLessThan(1500);
        }
    }

    @Test
    void cycleOfParents_reportedAndBroken() throws Exception {
        byte[] v = image("ntfs-rich", "4096");
        long[] l1 = new long[1];
        long[] l2 = new long[1];
        long off1 = offsetOf(v, "deep/level1", l1);
        offsetOf(v, "deep/level1/level2", l2);
        int seq2 = Le.u16(v, (int) offsetOf(v, "deep/level1/level2", l2) + 0x10);
        unfix(v, off1);
        int fn = attribute(v, off1, Attribute.FILE_NAME);
        int value = fn + Le.u16(v, fn + 0x14);
        long ref = (long) seq2 << 48 | l2[0];
        for (int i = 0; i < 8; i++) {
            v[value + i] = (byte) (ref >>> (8 * i));
        }
        refix(v, off1);
        List<NtfsException> errors = new ArrayList<>();
        try (NtfsVolume vol = NtfsVolume.open(Vols.bytes(v), errors::add)) {
            VolumeTree tree = vol.tree();
            assertThat(errors).isNotEmpty().allSatisfy(e -> assertThat(e).hasMessageContaining("cycle of parents"));
            FileRecord level1 = tree.record(l1[0]);
            assertThat(tree.orphans()).contains(level1);
            assertThat(tree.path(level1)).isNull();
            errors.clear();
            FileRecord bottom = vol.lookup("deep/level1/level2/level3").orElseThrow();
            assertThat(vol.paths(bottom)).singleElement().asString().startsWith("/$OrphanFiles/");
            assertThat(errors).singleElement().extracting(Throwable::getMessage).asString().contains("cycle of parents");
            assertThat(vol.lookup("big/file-7.txt")).isPresent();
        }
    }

    @Test
    void notNtfs_rejectedWithPlace() throws Exception {
        byte[] v = image("ntfs-small", "4096");
        v[3] = 'X';
        assertThatThrownBy(() -> NtfsVolume.open(Vols.bytes(v))).isInstanceOf(CorruptNtfsException.class)
                .hasMessageContaining("boot sector at 0x0: not NTFS");
        byte[] w = image("ntfs-small", "4096");
        w[0x0D] = 3; // sectors per cluster not a power of two
        assertThatThrownBy(() -> NtfsVolume.open(Vols.bytes(w))).isInstanceOf(CorruptNtfsException.class)
                .hasMessageContaining("sectors per cluster at 0xd");
    }

    @Test
    void lznt1_decodesBackReferencesAndRejectsBadOnes() throws Exception {
        // "abc" + back reference (offset 3, length 6) = "abcabcabc"
        byte[] in = {0x05, (byte) 0xB0, 0x08, 'a', 'b', 'c', 0x03, 0x20};
        byte[] out = new byte[16];
        Lznt1.decompress(in, 0, in.length, out, 0, 9, "t");
        assertThat(new String(out, 0, 9, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("abcabcabc");
        byte[] bad = {0x05, (byte) 0xB0, 0x08, 'a', 'b', 'c', 0x03, 0x70}; // offset 8 > position 3
        assertThatThrownBy(() -> Lznt1.decompress(bad, 0, bad.length, out, 0, 16, "stream X"))
                .isInstanceOf(CorruptNtfsException.class).hasMessageContaining("stream X: LZNT1 chunk at input +0x0");
    }
}
