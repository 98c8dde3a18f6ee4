package dev.coffer.vmdk;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Partition tables read by Coffer agree with {@code sfdisk -d} on disks written by sfdisk and sgdisk. */
class PartitionTableTest {
    @TempDir
    Path tmp;

    private static final Pattern SFDISK_LINE = Pattern.compile(
            "disk\\.raw(\\d+) : start=\\s*(\\d+), size=\\s*(\\d+), type=([0-9A-Fa-f-]+)(?:, uuid=([0-9A-F-]+))?"
                    + "(?:, name=\"([^\"]*)\")?");

    /** sfdisk's own reading: index, start, size, type, name. */
    private static List<String> sfdisk(Path raw) {
        List<String> out = new ArrayList<>();
        Matcher m = SFDISK_LINE.matcher(Fixtures.run("sfdisk", "-d", raw.toString()));
        while (m.find()) {
            out.add(m.group(1) + " " + Long.parseLong(m.group(2)) * 512 + " " + Long.parseLong(m.group(3)) * 512
                    + " " + m.group(4).toUpperCase(Locale.ROOT) + " " + (m.group(6) == null ? "" : m.group(6)));
        }
        return out;
    }

    private static List<String> coffer(PartitionTable t) {
        return t.partitions().stream().map(p -> p.index() + " " + p.offset() + " " + p.length() + " "
                + (p.mbrType() >= 0 ? Integer.toHexString(p.mbrType()).toUpperCase(Locale.ROOT) : p.typeGuid())
                + " " + p.name()).toList();
    }

    @Test
    void read_mbrWithLogicalPartitionAgreesWithSfdisk() throws IOException {
        Path raw = Fixtures.build("disk", "mbr").resolve("disk.raw");
        try (VirtualDisk disk = VirtualDisk.openRaw(raw)) {
            PartitionTable t = PartitionTable.read(disk);
            assertThat(t.scheme()).isEqualTo(PartitionTable.Scheme.MBR);
            assertThat(coffer(t)).isEqualTo(sfdisk(raw)).hasSize(3);
            assertThat(t.partitions()).extracting(Partition::kind).containsExactly("ntfs/basic-data", "extended", "linux");
        }
    }

    @Test
    void read_gptAgreesWithSfdiskThroughEveryVmdkSubformat() throws IOException {
        Path dir = Fixtures.build("vmdk-set", "gpt");
        List<String> expected = sfdisk(dir.resolve("disk.raw"));
        assertThat(expected).hasSize(2);
        for (String fmt : VirtualDiskTest.SUBFORMATS) {
            try (VirtualDisk disk = VirtualDisk.open(dir.resolve(fmt).resolve("disk.vmdk"))) {
                PartitionTable t = PartitionTable.read(disk);
                assertThat(t.scheme()).isEqualTo(PartitionTable.Scheme.GPT);
                assertThat(coffer(t)).as(fmt).isEqualTo(expected);
                assertThat(t.partitions()).extracting(Partition::kind).containsExactly("ntfs/basic-data", "linux");
                assertThat(t.partitions().get(0).name()).isEqualTo("Basic data");
                assertThat(t.usedBackupGpt()).isFalse();
            }
        }
    }

    @Test
    void read_gptWithDamagedPrimaryUsesTheBackup() throws IOException {
        Path raw = copy(Fixtures.build("disk", "gpt").resolve("disk.raw"));
        List<String> expected = sfdisk(raw);
        poke(raw, 512 + 0x20, (byte) 0x5a); // inside the primary header: its CRC no longer matches
        try (VirtualDisk disk = VirtualDisk.openRaw(raw)) {
            PartitionTable t = PartitionTable.read(disk);
            assertThat(t.usedBackupGpt()).isTrue();
            assertThat(coffer(t)).isEqualTo(expected);
        }
        // primary entries damaged instead (header intact): entry CRC catches it, backup used
        Path raw2 = copy(Fixtures.build("disk", "gpt").resolve("disk.raw"));
        poke(raw2, 1024 + 0x20, (byte) 0x7f);
        try (VirtualDisk disk = VirtualDisk.openRaw(raw2)) {
            assertThat(PartitionTable.read(disk).usedBackupGpt()).isTrue();
        }
    }

    @Test
    void read_gptWithBothHeadersDamagedNamesOffsets() throws IOException {
        Path raw = copy(Fixtures.build("disk", "gpt").resolve("disk.raw"));
        poke(raw, 512 + 0x20, (byte) 0x5a);
        poke(raw, Files.size(raw) - 512 + 0x20, (byte) 0x5a);
        try (VirtualDisk disk = VirtualDisk.openRaw(raw)) {
            assertThatThrownBy(() -> PartitionTable.read(disk, raw.toString()))
                    .isInstanceOf(CorruptImageException.class)
                    .hasMessageContaining(raw + " at 0x210: GPT header CRC32")
                    .hasMessageContaining("backup GPT header unusable too")
                    .hasMessageContaining("at 0x" + Long.toHexString(Files.size(raw) - 512 + 0x10));
        }
    }

    @Test
    void read_ebrChainThatLoopsIsAnErrorNotAHang() throws IOException {
        Path raw = copy(Fixtures.build("disk", "mbr").resolve("disk.raw"));
        // the logical's EBR sits at the extended partition's start (sector 83968); point its "next" at itself
        long ebr = 83968L * 512;
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, (byte) 0).put(4, (byte) 0x05).putInt(8, 0).putInt(12, 2048);
        try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.WRITE)) {
            ch.write(b, ebr + 0x1BE + 16);
        }
        try (VirtualDisk disk = VirtualDisk.openRaw(raw)) {
            assertThatThrownBy(() -> PartitionTable.read(disk, "d"))
                    .isInstanceOf(CorruptImageException.class)
                    .hasMessageContaining("next extended boot record at sector 83968");
        }
    }

    @Test
    void read_bareFilesystemOrBlankDiskHasNoTable() throws IOException {
        Path vol = Fixtures.build("ntfs-small").resolve("volume.raw");
        try (VirtualDisk disk = VirtualDisk.openRaw(vol)) {
            assertThat(PartitionTable.read(disk).scheme()).isEqualTo(PartitionTable.Scheme.NONE);
        }
        Path blank = tmp.resolve("blank.raw");
        Files.write(blank, new byte[4096]);
        try (VirtualDisk disk = VirtualDisk.openRaw(blank)) {
            assertThat(PartitionTable.read(disk).partitions()).isEmpty();
        }
    }

    private Path copy(Path src) throws IOException {
        Path p = Files.createDirectories(tmp.resolve("c" + System.nanoTime())).resolve(src.getFileName());
        Files.copy(src, p);
        return p;
    }

    static void poke(Path file, long at, byte value) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            byte old = b.get(0);
            ch.write(ByteBuffer.wrap(new byte[] {old == value ? (byte) ~value : value}), at);
        }
    }
}
