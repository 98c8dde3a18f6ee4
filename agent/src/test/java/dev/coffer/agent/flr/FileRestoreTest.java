package dev.coffer.agent.flr;

import static org.assertj.core.api.Assertions.assertThat;




import dev.coffer.agent.backup.Destinations;


import dev.coffer.agent.restore.DirectoryTarget;
import dev.coffer.agent.restore.ExistingPolicy;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.VolumeInfo;
import dev.coffer.dedup.Destination;
import dev.coffer.testkit.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;

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
}
