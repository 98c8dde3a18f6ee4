package dev.coffer.ntfs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.testkit.Fixtures;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The fixtures really carry the features the oracle tests rely on (checked with istat/fls, not
 * with our reader), and the reader sees the same features: attribute lists, compression, sparse
 * files, reparse points, hard links, the 1000+ entry directory; plus volume facts.
 */
class NtfsFixturesTest {
    static String istat(Path vol, String path) {
        return Fixtures.run("istat", vol.toString(), address(vol, path));
    }

    static String address(Path vol, String path) {
        String line = Fixtures.run("fls", "-r", "-p", "-u", vol.toString()).lines()
                .filter(l -> l.endsWith("\t" + path)).findFirst().orElseThrow(() -> new AssertionError("fls lacks " + path));
        return line.substring(line.lastIndexOf(' ') + 1, line.indexOf('-', line.lastIndexOf(' ')));
    }

    @ParameterizedTest
    @ValueSource(strings = {"4096", "65536"})
    void rich_hasAttributeListsAndTheReaderMergesThem(String cluster) throws Exception {
        Path vol = Fixtures.build("ntfs-rich", cluster).resolve("volume.raw");
        assertThat(istat(vol, "frag/frag0.bin")).contains("$ATTRIBUTE_LIST");
        try (NtfsVolume v = NtfsVolume.open(Vols.file(vol))) {
            FileRecord f = v.lookup("frag/frag0.bin").orElseThrow();
            assertThat(f.streams()).anyMatch(s -> s.attributeType() == 0x20 || s.typeName().equals("$ATTRIBUTE_LIST"))
                    .as("the list itself is non-resident here");
            StreamInfo data = f.dataStream("").orElseThrow();
            assertThat(data.runs()).hasSizeGreaterThan(150);
            assertThat(data.size()).isEqualTo(260L * Integer.parseInt(cluster));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"512", "4096", "65536"})
    void rich_hasAFileWhoseInitializedSizeIsShortOfItsSize(String cluster) throws Exception {
        Path vol = Fixtures.build("ntfs-rich", cluster).resolve("volume.raw");
        assertThat(istat(vol, "data/init-short.bin")).contains("size: 300000  init_size: 20000");
        try (NtfsVolume v = NtfsVolume.open(Vols.file(vol))) {
            StreamInfo data = v.lookup("data/init-short.bin").orElseThrow().dataStream("").orElseThrow();
            assertThat(data.size()).isEqualTo(300_000);
            assertThat(data.initializedSize()).isEqualTo(20_000);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"512", "4096", "65536"})
    void rich_hasAnEncryptedFileTheReaderFlagsAndReadsRaw(String cluster) throws Exception {
        Path vol = Fixtures.build("ntfs-rich", cluster).resolve("volume.raw");
        String istat = istat(vol, "data/efs-flagged.bin");
        assertThat(istat).contains("Flags: Archive, Encrypted").contains("Non-Resident, Encrypted   size: 70000");
        String icatMd5 = Tsk.icatMd5s(vol, java.util.List.of(address(vol, "data/efs-flagged.bin")))[0].substring(0, 32);
        try (NtfsVolume v = NtfsVolume.open(Vols.file(vol))) {
            FileRecord f = v.lookup("data/efs-flagged.bin").orElseThrow();
            StreamInfo data = f.dataStream("").orElseThrow();
            assertThat(data.encrypted()).isTrue();
            assertThat(f.fileAttributes() & StandardInformation.ENCRYPTED).isNotZero();
            java.nio.ByteBuffer raw = java.nio.ByteBuffer.allocate((int) data.size());
            v.open(f, data).readFully(0, raw);
            java.security.MessageDigest md5 = java.security.MessageDigest.getInstance("MD5");
            md5.update(raw.flip());
            assertThat(java.util.HexFormat.of().formatHex(md5.digest())).isEqualTo(icatMd5);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"512", "4096", "65536"})
    void rich_hasASparseFileWhoseRunsNeedAnAttributeList(String cluster) throws Exception {
        Path vol = Fixtures.build("ntfs-rich", cluster).resolve("volume.raw");
        int c = Integer.parseInt(cluster);
        int written = c < 4096 ? 800 : 200;
        assertThat(istat(vol, "frag/sparse-frag.bin")).contains("$ATTRIBUTE_LIST").contains("Sparse");
        try (NtfsVolume v = NtfsVolume.open(Vols.file(vol))) {
            StreamInfo data = v.lookup("frag/sparse-frag.bin").orElseThrow().dataStream("").orElseThrow();
            assertThat(data.size()).isEqualTo((2L * written - 1) * c);
            assertThat(data.runs()).hasSizeGreaterThanOrEqualTo(2 * written - 1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"512", "4096", "65536"})
    void rich_hasEveryOtherFeature(String cluster) throws Exception {
        Path vol = Fixtures.build("ntfs-rich", cluster).resolve("volume.raw");
        boolean compresses = Integer.parseInt(cluster) <= 4096;
        if (compresses) {
            assertThat(istat(vol, "comp/text.txt")).contains("Compressed");
        }
        assertThat(istat(vol, "data/sparse.img")).contains("Sparse");
        assertThat(istat(vol, "reparse/winlink")).contains("$REPARSE_POINT");
        assertThat(istat(vol, "data/linked.txt")).contains("Links: 3");
        assertThat(Fixtures.run("fls", "-u", vol.toString(), address(vol, "big")).lines().count()).isGreaterThan(1000);
        try (NtfsVolume v = NtfsVolume.open(Vols.file(vol))) {
            VolumeInfo info = v.info();
            assertThat(info.label()).isEqualTo("RICH");
            assertThat(info.clusterSize()).isEqualTo(Integer.parseInt(cluster));
            assertThat(info.majorVersion() + "." + info.minorVersion()).isEqualTo("3.1");
            assertThat(info.dirty()).isFalse();
            assertThat(info.hibernated()).isFalse();
            assertThat(Fixtures.run("fsstat", vol.toString())).contains(String.format("%016X", info.serial()));
            assertThat(v.lookup("comp/text.txt").orElseThrow().dataStream("").orElseThrow().compressed()).isEqualTo(compresses);
            StreamInfo sparse = v.lookup("data/sparse.img").orElseThrow().dataStream("").orElseThrow();
            assertThat(sparse.sparse()).isTrue();
            assertThat(sparse.runs()).anyMatch(Run::sparse);
            FileRecord link = v.lookup("reparse/winlink").orElseThrow();
            assertThat(link.reparsePoint().tagName()).isEqualTo("SYMLINK");
            assertThat(link.reparsePoint().target()).isEqualTo("..\\data\\log.txt");
            assertThat(link.reparsePoint().relative()).isTrue();
            assertThat(v.lookup("reparse/junction").orElseThrow().reparsePoint().target()).isEqualTo("\\??\\C:\\big");
            assertThat(v.lookup("reparse/dedup").orElseThrow().reparsePoint().tagName()).isEqualTo("DEDUP");
            assertThat(v.lookup("reparse/wof").orElseThrow().reparsePoint().tagName()).isEqualTo("WOF");
            FileRecord linked = v.lookup("data/linked.txt").orElseThrow();
            assertThat(linked.hardLinkCount()).isEqualTo(3);
            assertThat(linked.links()).hasSize(3);
            FileRecord longName = v.lookup("names/" + "L".repeat(255)).orElseThrow();
            assertThat(longName.primaryName().name()).hasSize(255);
            assertThat(v.lookup("names/日本語のファイル名.txt")).isPresent();
            assertThat(v.lookup("names/emoji 😀 file.txt")).isPresent();
        }
    }

    @Test
    void hibernatedAndDirtyVolumesAreFlagged() throws Exception {
        Path vol = Fixtures.build("ntfs-hiber").resolve("volume.raw");
        try (NtfsVolume v = NtfsVolume.open(Vols.file(vol))) {
            assertThat(v.info().hibernated()).isTrue();
            assertThat(v.info().label()).isEqualTo("HIBER");
            FileRecord note = v.lookup("note.txt").orElseThrow();
            assertThat(Vols.md5(v.open(note, note.dataStream("").orElseThrow())))
                    .isEqualTo(Tsk.icatMd5(vol, Long.toString(note.mftRecordNumber())));
        }
        byte[] img = java.nio.file.Files.readAllBytes(Fixtures.build("ntfs-small", "4096").resolve("volume.raw"));
        long rec;
        try (NtfsVolume v = NtfsVolume.open(Vols.bytes(img))) {
            assertThat(v.info().dirty()).isFalse();
            rec = v.recordOffset(FileRecord.VOLUME);
        }
        CorruptVolumeTest.unfix(img, rec);
        int a = CorruptVolumeTest.attribute(img, rec, Attribute.VOLUME_INFORMATION);
        int value = a + Le.u16(img, a + 0x14);
        img[value + 0x0A] |= 0x01;
        CorruptVolumeTest.refix(img, rec);
        try (NtfsVolume v = NtfsVolume.open(Vols.bytes(img))) {
            assertThat(v.info().dirty()).isTrue();
        }
    }
}
