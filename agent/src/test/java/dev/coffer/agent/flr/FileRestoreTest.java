package dev.coffer.agent.flr;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.backup.Destinations;
import dev.coffer.agent.restore.DirectoryTarget;
import dev.coffer.agent.restore.ExistingPolicy;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.FileBlock;
import dev.coffer.catalog.VolumeInfo;
import dev.coffer.dedup.Destination;
import dev.coffer.testkit.Fixtures;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Restores from a real backup of a fixture VM and checks every byte and time against The Sleuth Kit. */
class FileRestoreTest {
    @TempDir
    Path tmp;

    @Test
    void wholeTreeRestoresByteForByteWithTimesAndAStreamAndAGlob() throws Exception {
        try (Catalog catalog = Catalog.open(tmp.resolve("c.db")); Destination dest = Destinations.embedded(tmp.resolve("s"))) {
            WinvmBackup b = WinvmBackup.of(catalog, dest);
            Path fx = b.fixture();
            VolumeInfo vol = b.ntfs();
            Selection sel = new Selection(catalog, b.backupId(), vol.id(), ExistingPolicy.OVERWRITE);

            Path out = tmp.resolve("out");
            FileRestore.Report rep;
            List<FileRestore.Item> all = sel.select("/", false, null);
            try (DirectoryTarget target = DirectoryTarget.open(Files.createDirectories(out), DirectoryTarget.Options.defaults())) {
                rep = new FileRestore(dest, target, FileRestore.Options.defaults().withWorkers(3)).run(all);
            }
            assertThat(rep.failed()).isZero();
            assertThat(rep.outcomes()).extracting(FileRestore.Outcome::file)
                    .as("outcomes in selection order, whatever order files finished in")
                    .containsExactlyElementsOf(all.stream().map(FileRestore.Item::file).toList());
            long sector = vol.offsetBytes() / 512;
            Path raw = fx.resolve("disk.raw");
            Map<String, String> files = new LinkedHashMap<>();
            String fls = Fixtures.run("fls", "-r", "-p", "-u", "-o", Long.toString(sector), raw.toString());
            for (String line : fls.lines().toList()) {
                int tab = line.indexOf('\t');
                String path = line.substring(tab + 1);
                if (line.startsWith("r/r ") && !path.startsWith("$") && !path.contains(":")) {
                    files.put(path, line.substring(4, tab).replace("*", "").replace(":", "").strip());
                }
            }
            assertThat(files).hasSizeGreaterThan(30);
            for (var e : files.entrySet()) {
                Path f = out.resolve(e.getKey());
                assertThat(f).as(e.getKey()).isRegularFile();
                String icat = Fixtures.run("bash", "-c", "icat -o " + sector + " '" + raw + "' " + e.getValue() + " | md5sum")
                        .split(" ")[0];
                assertThat(Fixtures.md5(f)).as(e.getKey()).isEqualTo(icat);
                String istat = Fixtures.run("istat", "-o", Long.toString(sector), raw.toString(), e.getValue());
                // istat prints "File Modified:\t2026-11-22 03:09:31.123456789 (UTC)" under $STANDARD_INFORMATION
                String modified = istat.lines().filter(l -> l.startsWith("File Modified:")).findFirst().orElseThrow()
                        .replaceAll("File Modified:\\s*", "").replaceAll("\\.\\d+.*", "").replace(' ', 'T');
                assertThat(Files.getLastModifiedTime(f).toInstant().toString()).as("mtime of " + e.getKey())
                        .startsWith(modified);
            }

            // one stream, and a glob over a tree
            Path one = tmp.resolve("one");
            try (DirectoryTarget target = DirectoryTarget.open(Files.createDirectories(one), DirectoryTarget.Options.defaults())) {
                var items = sel.select("/Program Files", false, "module0*.dll");
                assertThat(items).hasSize(9);
                assertThat(new FileRestore(dest, target, FileRestore.Options.defaults()).run(items).failed()).isZero();
            }
            assertThat(one.resolve("Program Files/App/module05.dll")).isRegularFile();
            assertThat(one.resolve("Program Files/App/module10.dll")).doesNotExist();
        }
    }

    /**
     * A damaged block at the destination fails its file, naming the file and the block, and the other
     * files are restored. The block is the first file's first, which the pipeline asks for before its
     * workers start: that early fetch fails the same way, and is retried, as any other.
     */
    @Test
    void aDamagedBlock_failsItsFileNamingTheBlock_andTheRestIsRestored() throws Exception {
        try (Catalog catalog = Catalog.open(tmp.resolve("c.db")); Destination dest = Destinations.embedded(tmp.resolve("s"))) {
            WinvmBackup b = WinvmBackup.of(catalog, dest);
            VolumeInfo vol = b.ntfs();
            Selection sel = new Selection(catalog, b.backupId(), vol.id(), ExistingPolicy.OVERWRITE);
            List<FileRestore.Item> items = new ArrayList<>(sel.select("/Documents/Reports/data.bin", false, null));
            items.addAll(sel.select("/Documents/Reports/q1.csv", false, null));
            assertThat(items).hasSize(2);
            FileBlock first = items.get(0).blocks().get(0);
            assertThat(items.get(0).blocks()).as("data.bin is 1 MiB and a byte, in 64 KiB blocks").hasSize(17);
            String sha = HexFormat.of().formatHex(first.sha256());
            damagePayload(tmp.resolve("s"), first.sha256());

            Path out = tmp.resolve("out");
            FileRestore.Report rep;
            try (DirectoryTarget target = DirectoryTarget.open(Files.createDirectories(out), DirectoryTarget.Options.defaults())) {
                rep = new FileRestore(dest, target, FileRestore.Options.defaults()).run(items);
            }
            assertThat(rep.failed()).isEqualTo(1);
            FileRestore.Outcome bad = rep.outcomes().get(0);
            assertThat(bad.ok()).isFalse();
            assertThat(bad.error()).contains("data.bin").contains("block " + sha).containsIgnoringCase("crc");
            assertThat(out.resolve("data.bin")).doesNotExist();
            assertThat(rep.outcomes().get(1).ok()).as(rep.outcomes().get(1).error()).isTrue();
            Path raw = b.fixture().resolve("disk.raw");
            String sector = Long.toString(vol.offsetBytes() / 512);
            String inode = Fixtures.run("ifind", "-o", sector, "-n", "/Documents/Reports/q1.csv", raw.toString()).strip();
            String icat = Fixtures.run("bash", "-c", "icat -o " + sector + " '" + raw + "' " + inode + " | md5sum").split(" ")[0];
            assertThat(Fixtures.md5(out.resolve("q1.csv"))).isEqualTo(icat);
        }
    }

    /** Flips one byte of the stored payload of block {@code sha256} in the store at {@code store}. */
    private static void damagePayload(Path store, byte[] sha256) throws Exception {
        long pack;
        long offset;
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + store.resolve("index.db"));
                PreparedStatement ps = c.prepareStatement("SELECT pack, offset FROM blocks WHERE sha256=?")) {
            ps.setBytes(1, sha256);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).as("the block is in the store's index").isTrue();
                pack = rs.getLong(1);
                offset = rs.getLong(2);
            }
        }
        Path file;
        try (var s = Files.list(store.resolve("packs"))) {
            String name = String.format("pack-%08d.pack", pack);
            file = s.filter(p -> p.getFileName().toString().equals(name)).findFirst().orElseThrow();
        }
        long at = offset + 0x38 + 100; // past the record's header (PackRecord.HEADER_BYTES), into the payload
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            ch.read(one, at);
            one.put(0, (byte) ~one.get(0)).rewind();
            ch.write(one, at);
        }
    }
}
