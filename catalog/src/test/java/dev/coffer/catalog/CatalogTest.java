package dev.coffer.catalog;

import static dev.coffer.catalog.TestFiles.block;
import static dev.coffer.catalog.TestFiles.dir;
import static dev.coffer.catalog.TestFiles.file;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every query against a small hand-checked catalog: backup 1 (full), backup 2 (incremental: one change,
 * one delete, one add), backup 3 (failed after deleting everything), backup 4 (nothing changed).
 */
class CatalogTest {
    @TempDir
    Path tmp;
    Catalog cat;
    long vm;
    long vol;
    long b1;
    long b2;
    long b3;
    long b4;

    static final Instant T0 = Instant.parse("2026-11-01T00:00:00Z");

    @BeforeEach
    void build() throws Exception {
        cat = Catalog.open(tmp.resolve("catalog.db"));
        long ds = cat.datastore("/vmfs/volumes/ds1");
        vm = cat.vm(ds, "win10", "Windows 10", "564d-1234");
        long disk = cat.disk(vm, "scsi0:0", "/vmfs/volumes/ds1/win10/win10-000001.vmdk",
                List.of("win10.vmdk", "win10-000001.vmdk"), 2L << 30);
        vol = cat.volume(disk, 1, 1 << 20, (2L << 30) - (1 << 20), "ntfs", "A1B2C3D4", 4096);

        b1 = cat.beginBackup(vm, T0, "storage-snapshot", "daily");
        try (FileIngest in = cat.ingest(b1, vol)) {
            in.add(dir("/", 5));
            in.add(dir("/docs", 30));
            in.add(file("/docs/a.txt", 40, 1, "alpha"));
            in.add(file("/docs/b.txt", 41, 1, "bravo-1", "bravo-2"));
            in.add(file("/C.bin", 42, 1, "charlie"));
            in.add(file("/Zed.txt", 43, 1, "alpha"));
            assertThat(in.finish()).isEqualTo(new IngestResult(6, 0, 0));
        }
        cat.markComplete(b1, T0.plusSeconds(60));

        b2 = incremental(Map.of("/docs/b.txt", file("/docs/b.txt", 41, 2, "bravo-1", "bravo-3x")),
                List.of("/C.bin"), List.of(file("/docs/d.txt", 44, 1, "delta")));
        cat.markComplete(b2, T0.plusSeconds(3660));

        b3 = cat.beginBackup(vm, T0.plusSeconds(7200), "reflink", "daily");
        try (FileIngest in = cat.ingest(b3, vol)) {
            in.add(dir("/", 5));
            in.add(file("/x.txt", 50, 1, "xray"));
            in.finish();
        }
        cat.markFailed(b3, T0.plusSeconds(7300), "destination unreachable");

        b4 = incremental(Map.of(), List.of(), List.of());
        cat.markComplete(b4, T0.plusSeconds(10_860));
    }

    @AfterEach
    void close() throws Exception {
        cat.close();
    }

    /** One incremental backup the way the engine does it: carry every live version except changed and deleted paths. */
    long incremental(Map<String, FileRecord> changed, List<String> deleted, List<FileRecord> added) throws Exception {
        long prev = cat.latest(vm).orElseThrow().id();
        long b = cat.beginBackup(vm, T0, "storage-snapshot", "daily");
        List<LiveVersion> live = new ArrayList<>();
        cat.forEachLiveVersion(vol, prev, live::add);
        try (FileIngest in = cat.ingest(b, vol)) {
            for (LiveVersion v : live) {
                if (changed.containsKey(v.path())) {
                    in.add(changed.get(v.path()));
                } else if (!deleted.contains(v.path())) {
                    in.carry(v.versionId());
                }
            }
            for (FileRecord f : added) {
                in.add(f);
            }
            in.finish();
        }
        return b;
    }

    static List<String> names(Page<Entry> p) {
        return p.items().stream().map(Entry::name).collect(Collectors.toList());
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    @Test
    void list_sortsCaseInsensitivelyAndShowsEachBackupsTree() throws Exception {
        assertThat(names(cat.list(b1, vol, "/", 0, 100))).containsExactly("C.bin", "docs", "Zed.txt");
        assertThat(names(cat.list(b1, vol, "/docs", 0, 100))).containsExactly("a.txt", "b.txt");
        assertThat(names(cat.list(b2, vol, "/", 0, 100))).containsExactly("docs", "Zed.txt");
        assertThat(names(cat.list(b2, vol, "/docs", 0, 100))).containsExactly("a.txt", "b.txt", "d.txt");
        assertThat(names(cat.list(b4, vol, "/docs", 0, 100))).containsExactly("a.txt", "b.txt", "d.txt");
        Page<Entry> p = cat.list(b2, vol, "/docs", 1, 1);
        assertThat(names(p)).containsExactly("b.txt");
        assertThat(p.total()).isEqualTo(3);
        assertThat(p.offset()).isEqualTo(1);
        assertThat(p.items().get(0).size()).isEqualTo(15);
        assertThat(p.items().get(0).path()).isEqualTo("/docs/b.txt");
        assertThat(cat.list(b1, vol, "/docs", 0, 100).items().get(1).size()).isEqualTo(14);
        // listing decodes packed columns; it must agree field for field with stat
        for (long b : List.of(b1, b2, b4)) {
            for (String d : List.of("/", "/docs")) {
                for (Entry e : cat.list(b, vol, d, 0, 100).items()) {
                    assertThat(e).isEqualTo(cat.stat(b, vol, e.path()).orElseThrow().entry());
                }
            }
        }
    }

    @Test
    void list_sortsExactlyLikeSqliteNocaseThenBinary() throws Exception {
        List<String> names = new ArrayList<>(List.of("a", "A", "b", "B.txt", "b.txt", "_x", "[y", "Ä", "ä", "é", "E",
                "e", "z", "Z", "\uD83D\uDE00", "\uFFFD", "\uE000", "a\uD83D\uDE00", "ab", "aB", "Ab", "AB", "a b", "a-b",
                "ǅ", "ǆ", "Ǆ", "ı", "I", "i", "0", "9", "~", "ß", "SS"));
        java.util.Random rnd = new java.util.Random(7);
        String alphabet = "aAbBzZ_-.~0\u00e4\u00c4\u0130\uE000\uFFFD";
        for (int i = 0; i < 300; i++) {
            StringBuilder b = new StringBuilder();
            for (int k = 1 + rnd.nextInt(4); k > 0; k--) {
                if (rnd.nextInt(10) == 0) {
                    b.appendCodePoint(0x1F600 + rnd.nextInt(3));
                } else {
                    b.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
                }
            }
            if (!names.contains(b.toString()) && !b.toString().equals(".") && !b.toString().equals("..")) {
                names.add(b.toString());
            }
        }
        // the oracle: SQLite itself
        List<String> expected = new ArrayList<>();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite::memory:");
                java.sql.Statement st = c.createStatement()) {
            st.execute("CREATE TABLE t(x TEXT)");
            try (java.sql.PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES(?)")) {
                for (String n : names) {
                    ps.setString(1, n);
                    ps.executeUpdate();
                }
            }
            try (java.sql.ResultSet rs = st.executeQuery("SELECT x FROM t ORDER BY x COLLATE NOCASE, x")) {
                while (rs.next()) {
                    expected.add(rs.getString(1));
                }
            }
        }
        long disk2 = cat.disk(vm, "scsi0:1", "/vmfs/volumes/ds1/win10/data.vmdk", List.of("data.vmdk"), 1L << 30);
        long vol2 = cat.volume(disk2, 1, 1 << 20, 1 << 29, "ntfs", null, 4096);
        long b = cat.beginBackup(vm, T0, "reflink", "daily");
        try (FileIngest in = cat.ingest(b, vol2)) {
            in.add(dir("/", 5));
            in.add(dir("/d", 6));
            for (int i = 0; i < names.size(); i++) {
                in.add(file("/d/" + names.get(i), 100 + i, 1, "x" + i));
            }
            in.finish();
        }
        cat.markComplete(b, T0);
        for (int max : new int[] {Catalog.LIST_JAVA_SORT_MAX, 10}) { // heap sort, then SQLite's sorter
            cat.listJavaSortMax = max;
            assertThat(names(cat.list(b, vol2, "/d", 0, 1000))).as("max " + max).containsExactlyElementsOf(expected);
            Page<Entry> page = cat.list(b, vol2, "/d", 17, 5); // a narrow page
            assertThat(names(page)).containsExactlyElementsOf(expected.subList(17, 22));
            assertThat(page.total()).isEqualTo(names.size());
            for (Entry e : page.items()) {
                assertThat(e).isEqualTo(cat.stat(b, vol2, e.path()).orElseThrow().entry());
            }
            assertThat(names(cat.list(b, vol2, "/d", names.size() - 3, 10))).containsExactlyElementsOf(
                    expected.subList(names.size() - 3, names.size()));
            assertThat(cat.list(b, vol2, "/d", names.size() + 5, 10).items()).isEmpty();
        }
        for (int i = 0; i < expected.size(); i++) {
            for (int j = 0; j < expected.size(); j++) {
                assertThat(Integer.signum(Catalog.nocaseThenBinary(expected.get(i), expected.get(j))))
                        .as(expected.get(i) + " vs " + expected.get(j)).isEqualTo(Integer.signum(Integer.compare(i, j)));
            }
        }
    }

    @Test
    void list_refusesMissingDirectoryFileAndUnqueryableBackups() {
        assertThatThrownBy(() -> cat.list(b1, vol, "/nope", 0, 10)).isInstanceOf(NoSuchPathException.class)
                .hasMessageContaining("/nope").hasMessageContaining("catalog.db");
        assertThatThrownBy(() -> cat.list(b1, vol, "/docs/a.txt", 0, 10)).isInstanceOf(NoSuchPathException.class);
        assertThatThrownBy(() -> cat.list(b3, vol, "/", 0, 10)).isInstanceOf(NoSuchPathException.class)
                .hasMessageContaining("backup " + b3 + " is failed");
        assertThatThrownBy(() -> cat.list(999, vol, "/", 0, 10)).isInstanceOf(NoSuchPathException.class);
        assertThatThrownBy(() -> cat.list(b1, vol, "/", 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void stat_returnsEntryStreamsAndRuns() throws Exception {
        Stat s = cat.stat(b1, vol, "/docs/b.txt").orElseThrow();
        assertThat(s.entry().kind()).isEqualTo(FileKind.FILE);
        assertThat(s.entry().size()).isEqualTo(14);
        assertThat(s.entry().mftRecord()).isEqualTo(41);
        assertThat(s.entry().mftSequence()).isEqualTo(1);
        assertThat(s.entry().parentRecord()).isEqualTo(5);
        assertThat(s.entry().modifiedNanos()).isEqualTo(2_000L * 41 + 1);
        assertThat(s.entry().attributes()).isEqualTo(0x20);
        assertThat(s.entry().validFrom()).isEqualTo(b1);
        assertThat(s.entry().validTo()).isEqualTo(b2);
        assertThat(s.streams()).containsExactly(new StreamInfo("", 14, 2, List.of(new Run(1410, 1))));
        assertThat(cat.stat(b2, vol, "/docs/b.txt").orElseThrow().entry().validTo()).isZero();
        assertThat(cat.stat(b2, vol, "/C.bin")).isEmpty();
        assertThat(cat.stat(b1, vol, "/").orElseThrow().entry().kind()).isEqualTo(FileKind.DIRECTORY);
    }

    @Test
    void history_listsEveryVersionWithItsBackups() throws Exception {
        List<VersionSpan> h = cat.history(vol, "/docs/b.txt");
        assertThat(h).hasSize(2);
        assertThat(h.get(0).entry().size()).isEqualTo(14);
        assertThat(h.get(0).backups()).containsExactly(b1);
        assertThat(h.get(1).entry().size()).isEqualTo(15);
        assertThat(h.get(1).backups()).containsExactly(b2, b4);
        assertThat(cat.history(vol, "/docs/a.txt")).singleElement()
                .satisfies(v -> assertThat(v.backups()).containsExactly(b1, b2, b4));
        assertThat(cat.history(vol, "/C.bin")).singleElement()
                .satisfies(v -> assertThat(v.backups()).containsExactly(b1));
        assertThat(cat.history(vol, "/x.txt")).isEmpty(); // only the failed backup saw it
    }

    @Test
    void diff_reportsAddedRemovedChangedWithSizes() throws Exception {
        assertThat(cat.diff(b1, b2)).containsExactly(
                new DiffEntry(vol, "/C.bin", DiffEntry.Change.REMOVED, 7, 0),
                new DiffEntry(vol, "/docs/b.txt", DiffEntry.Change.CHANGED, 14, 15),
                new DiffEntry(vol, "/docs/d.txt", DiffEntry.Change.ADDED, 0, 5));
        assertThat(cat.diff(b2, b1)).containsExactly(
                new DiffEntry(vol, "/C.bin", DiffEntry.Change.ADDED, 0, 7),
                new DiffEntry(vol, "/docs/b.txt", DiffEntry.Change.CHANGED, 15, 14),
                new DiffEntry(vol, "/docs/d.txt", DiffEntry.Change.REMOVED, 5, 0));
        assertThat(cat.diff(b2, b4)).isEmpty();
        assertThat(cat.diff(b1, b4)).hasSize(3);
        assertThatThrownBy(() -> cat.diff(b1, b3)).isInstanceOf(NoSuchPathException.class);
    }

    @Test
    void find_globAndRegexAcrossAllBackupsOrOne() throws Exception {
        List<VersionSpan> all = cat.findGlob("*.txt", OptionalLong.empty(), 100);
        assertThat(all).extracting(v -> v.entry().path() + " " + v.backups()).containsExactly(
                "/Zed.txt [" + b1 + ", " + b2 + ", " + b4 + "]",
                "/docs/a.txt [" + b1 + ", " + b2 + ", " + b4 + "]",
                "/docs/b.txt [" + b1 + "]",
                "/docs/b.txt [" + b2 + ", " + b4 + "]",
                "/docs/d.txt [" + b2 + ", " + b4 + "]");
        assertThat(cat.findGlob("*.txt", OptionalLong.of(b1), 100)).extracting(v -> v.entry().path())
                .containsExactly("/Zed.txt", "/docs/a.txt", "/docs/b.txt");
        assertThat(cat.findGlob("x*", OptionalLong.empty(), 100)).isEmpty(); // failed backup's file
        assertThat(cat.findGlob("*.txt", OptionalLong.empty(), 2)).hasSize(2);
        assertThat(cat.findRegex("^[ab]\\.txt$", OptionalLong.of(b2), 100)).extracting(v -> v.entry().path())
                .containsExactly("/docs/a.txt", "/docs/b.txt");
        assertThat(cat.findRegex("(?i)^c\\.", OptionalLong.empty(), 100)).extracting(v -> v.entry().path())
                .containsExactly("/C.bin");
        assertThat(cat.findGlob("c.*", OptionalLong.empty(), 100)).isEmpty(); // GLOB is case-sensitive
        assertThatThrownBy(() -> cat.findRegex("(", OptionalLong.empty(), 10)).isInstanceOf(CatalogException.class)
                .hasMessageContaining("regular expression");
    }

    @Test
    void blocks_inStreamOrderWithHashesAndStorage() throws Exception {
        List<FileBlock> bl = cat.blocks(b2, vol, "/docs/b.txt", "");
        assertThat(bl).extracting(FileBlock::offset).containsExactly(0L, 7L);
        assertThat(hex(bl.get(0).sha256())).isEqualTo(block("bravo-1").sha256Hex());
        assertThat(hex(bl.get(0).md5())).isEqualTo(hex(block("bravo-1").md5()));
        assertThat(hex(bl.get(1).sha256())).isEqualTo(block("bravo-3x").sha256Hex());
        assertThat(bl).extracting(FileBlock::sizeBytes).containsExactly(7L, 8L);
        assertThat(bl).extracting(FileBlock::storedSize).containsExactly(-1L, -1L);

        cat.markStored("dest-a", List.of(new StoredBlock(block("bravo-1"), 6, "zstd", new byte[] {1, 2})));
        bl = cat.blocks(b2, vol, "/docs/b.txt", "");
        assertThat(bl.get(0).storedSize()).isEqualTo(6);
        assertThat(bl.get(0).codec()).isEqualTo("zstd");
        assertThat(cat.knownStored("dest-a", List.of(block("bravo-1").sha256(), block("bravo-2").sha256(),
                new byte[32])).toString()).isEqualTo("{0}");
        assertThat(cat.knownStored("dest-b", List.of(block("bravo-1").sha256())).isEmpty()).isTrue();
        // a block acknowledged before any stream lists it is known, stored, and unreferenced
        cat.markStored("dest-a", List.of(new StoredBlock(block("uploaded-early"), 3, "none", null)));
        assertThat(cat.knownStored("dest-a", List.of(block("uploaded-early").sha256())).get(0)).isTrue();
        assertThat(cat.refCount(block("uploaded-early").sha256())).isZero();
        assertThatThrownBy(() -> cat.blocks(b2, vol, "/docs/b.txt", "ads")).isInstanceOf(NoSuchPathException.class);
    }

    @Test
    void referencesCountsAndUses() throws Exception {
        assertThat(cat.refCount(block("alpha").sha256())).isEqualTo(2); // a.txt and Zed.txt
        assertThat(cat.refCount(block("bravo-1").sha256())).isEqualTo(2); // both versions of b.txt
        assertThat(cat.refCount(block("xray").sha256())).isZero(); // failed backup undone
        assertThat(cat.backupsReferencing(block("bravo-2").sha256()))
                .containsExactly(new BlockUse(b1, vol, "/docs/b.txt", "", 0));
        assertThat(cat.backupsReferencing(block("alpha").sha256())).extracting(u -> u.backupId() + u.path())
                .containsExactly(b1 + "/Zed.txt", b1 + "/docs/a.txt", b2 + "/Zed.txt", b2 + "/docs/a.txt",
                        b4 + "/Zed.txt", b4 + "/docs/a.txt");
        List<String> b2blocks = new ArrayList<>();
        cat.forEachReferencedBlock(List.of(b2), s -> b2blocks.add(hex(s)));
        assertThat(b2blocks).containsExactlyElementsOf(List.of("alpha", "bravo-1", "bravo-3x", "delta").stream()
                .map(t -> block(t).sha256Hex()).sorted().collect(Collectors.toList()));
        List<String> allBlocks = new ArrayList<>();
        cat.forEachReferencedBlock(List.of(), s -> allBlocks.add(hex(s)));
        assertThat(allBlocks).hasSize(6).isSorted();
        // past the in-memory limit the references go through a temporary table: the same answer
        for (int limit : new int[] {0, 1, 3}) {
            List<String> spilled = new ArrayList<>();
            cat.forEachReferencedBlock(List.of(), s -> spilled.add(hex(s)), limit);
            assertThat(spilled).as("limit %d", limit).isEqualTo(allBlocks);
            List<String> b2spilled = new ArrayList<>();
            cat.forEachReferencedBlock(List.of(b2), s -> b2spilled.add(hex(s)), limit);
            assertThat(b2spilled).as("limit %d", limit).isEqualTo(b2blocks);
        }
    }

    @Test
    void totals_perBackup() throws Exception {
        BackupInfo one = cat.backup(b1).orElseThrow();
        assertThat(one.state()).isEqualTo(BackupState.COMPLETE);
        assertThat(one.files()).isEqualTo(4);
        assertThat(one.logicalBytes()).isEqualTo(5 + 14 + 7 + 5);
        assertThat(one.newBytes()).isEqualTo(5 + 7 + 7 + 7);
        assertThat(one.consistencySource()).isEqualTo("storage-snapshot");
        assertThat(one.started()).isEqualTo(T0);
        assertThat(one.ended()).isEqualTo(T0.plusSeconds(60));
        BackupInfo two = cat.backup(b2).orElseThrow();
        assertThat(two.files()).isEqualTo(4);
        assertThat(two.logicalBytes()).isEqualTo(5 + 15 + 5 + 5);
        assertThat(two.newBytes()).isEqualTo(8 + 5);
        BackupInfo three = cat.backup(b3).orElseThrow();
        assertThat(three.state()).isEqualTo(BackupState.FAILED);
        assertThat(three.error()).isEqualTo("destination unreachable");
        assertThat(cat.backup(b4).orElseThrow().newBytes()).isZero();
        assertThat(cat.backup(b4).orElseThrow().files()).isEqualTo(4);
        assertThat(cat.backups(vm)).extracting(BackupInfo::id).containsExactly(b1, b2, b3, b4);
        assertThat(cat.latest(vm).orElseThrow().id()).isEqualTo(b4);
    }

    @Test
    void storedBytes_countNewBlocksAcknowledgedBeforeCompletion() throws Exception {
        long b = cat.beginBackup(vm, T0, "vm-snapshot", "hourly");
        List<LiveVersion> live = new ArrayList<>();
        cat.forEachLiveVersion(vol, b4, live::add);
        try (FileIngest in = cat.ingest(b, vol)) {
            live.forEach(v -> in.carry(v.versionId()));
            in.add(file("/e.txt", 60, 1, "echo-echo", "alpha"));
            in.finish();
        }
        cat.markStored("dest-a", List.of(new StoredBlock(block("echo-echo"), 4, "zstd", null)));
        BackupInfo info = cat.markComplete(b, T0.plusSeconds(99));
        assertThat(info.newBytes()).isEqualTo(9);
        assertThat(info.storedBytes()).isEqualTo(4);
        assertThat(info.files()).isEqualTo(5);
    }

    @Test
    void runningBackupIsInvisibleUntilComplete() throws Exception {
        long b = cat.beginBackup(vm, T0, "live-crash-inconsistent", "adhoc");
        assertThatThrownBy(() -> cat.beginBackup(vm, T0, "reflink", "daily")).isInstanceOf(CatalogException.class)
                .hasMessageContaining("already has running backup " + b);
        try (FileIngest in = cat.ingest(b, vol)) {
            in.add(dir("/", 5));
            in.add(file("/new.txt", 70, 1, "november"));
            in.finish(); // closes every other version with valid_to = b
        }
        assertThat(names(cat.list(b4, vol, "/docs", 0, 100))).containsExactly("a.txt", "b.txt", "d.txt");
        assertThat(cat.findGlob("new*", OptionalLong.empty(), 10)).isEmpty();
        assertThat(cat.latest(vm).orElseThrow().id()).isEqualTo(b4);
        assertThatThrownBy(() -> cat.list(b, vol, "/", 0, 10)).isInstanceOf(NoSuchPathException.class);
        assertThat(cat.failInterrupted(T0, "agent restarted")).isEqualTo(1);
        assertThat(cat.backup(b).orElseThrow().state()).isEqualTo(BackupState.FAILED);
        assertThat(cat.stat(b4, vol, "/docs/a.txt").orElseThrow().entry().validTo()).isZero();
        assertThat(cat.refCount(block("november").sha256())).isZero();
    }

    @Test
    void ingest_rejectsEngineMistakes() throws Exception {
        long b = cat.beginBackup(vm, T0, "reflink", "daily");
        FileIngest in = cat.ingest(b, vol);
        in.carry(123_456);
        assertThatThrownBy(in::finish).isInstanceOf(CatalogException.class).hasMessageContaining("carried 1 versions");
        cat.markFailed(b, T0, "test");

        long c = cat.beginBackup(vm, T0, "reflink", "daily");
        FileIngest twice = cat.ingest(c, vol);
        twice.add(file("/dup", 1, 1, "x"));
        twice.add(file("/dup", 2, 1, "y"));
        assertThatThrownBy(twice::finish).isInstanceOf(CatalogException.class)
                .hasMessageContaining("two live versions of /dup");
        assertThatThrownBy(() -> twice.add(file("/z", 1, 1))).isInstanceOf(IllegalStateException.class);
        cat.markFailed(c, T0, "test");

        long d = cat.beginBackup(vm, T0, "reflink", "daily");
        try (FileIngest bad = cat.ingest(d, vol)) {
            assertThatThrownBy(() -> bad.add(file("docs/rel", 1, 1))).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> bad.add(file("/a//b", 1, 1))).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> bad.add(file("/a/../b", 1, 1))).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> bad.add(file("/a/", 1, 1))).isInstanceOf(IllegalArgumentException.class);
        }
        cat.markFailed(d, T0, "test");
        assertThatThrownBy(() -> cat.markComplete(d, T0)).isInstanceOf(CatalogException.class)
                .hasMessageContaining("is failed, expected running");
        assertThat(names(cat.list(b4, vol, "/docs", 0, 100))).containsExactly("a.txt", "b.txt", "d.txt");
    }

    @Test
    void ingest_rejectsTwoLiveVersionsWhenMostFilesAreNew() throws Exception {
        // as many adds as versions live before: finish checks by scanning instead of probing
        long disk2 = cat.disk(vm, "scsi0:1", "/vmfs/volumes/ds1/win10/data.vmdk", List.of("data.vmdk"), 1L << 30);
        long vol2 = cat.volume(disk2, 1, 1 << 20, 1 << 29, "ntfs", null, 4096);
        long b = cat.beginBackup(vm, T0, "reflink", "daily");
        try (FileIngest in = cat.ingest(b, vol2)) {
            in.add(dir("/", 5));
            in.add(file("/e/dup", 1, 1, "x"));
            in.add(file("/e/other", 3, 1, "z"));
            in.add(file("/e/dup", 2, 1, "y"));
            assertThatThrownBy(in::finish).isInstanceOf(CatalogException.class)
                    .hasMessageContaining("two live versions of /e/dup on volume " + vol2);
        }
        cat.markFailed(b, T0, "test");
        long c = cat.beginBackup(vm, T0, "reflink", "daily");
        try (FileIngest in = cat.ingest(c, vol2)) {
            in.add(dir("/", 5));
            in.add(file("/only", 1, 1, "x"));
            assertThat(in.finish()).isEqualTo(new IngestResult(2, 0, 0));
        }
        cat.markComplete(c, T0);
        long d = cat.beginBackup(vm, T0, "reflink", "daily");
        List<LiveVersion> live = new ArrayList<>();
        cat.forEachLiveVersion(vol2, c, live::add);
        try (FileIngest in = cat.ingest(d, vol2)) {
            for (LiveVersion v : live) {
                in.carry(v.versionId());
            }
            in.add(file("/only", 1, 2, "x2")); // added and carried
            in.add(file("/new1", 4, 1, "n1"));
            in.add(file("/new2", 5, 1, "n2"));
            assertThatThrownBy(in::finish).isInstanceOf(CatalogException.class)
                    .hasMessageContaining("two live versions of /only");
        }
        cat.markFailed(d, T0, "test");
        assertThat(names(cat.list(c, vol2, "/", 0, 10))).containsExactly("only");
    }

    @Test
    void prune_deletesVersionsNoOtherBackupNeeds() throws Exception {
        cat.prune(b1);
        assertThat(cat.backup(b1).orElseThrow().state()).isEqualTo(BackupState.PRUNED);
        assertThatThrownBy(() -> cat.list(b1, vol, "/", 0, 10)).isInstanceOf(NoSuchPathException.class);
        assertThat(cat.history(vol, "/docs/b.txt")).singleElement()
                .satisfies(v -> assertThat(v.backups()).containsExactly(b2, b4));
        assertThat(cat.history(vol, "/C.bin")).isEmpty();
        assertThat(cat.refCount(block("bravo-1").sha256())).isEqualTo(1);
        assertThat(cat.refCount(block("bravo-2").sha256())).isZero();
        assertThat(cat.refCount(block("charlie").sha256())).isZero();
        assertThat(cat.refCount(block("alpha").sha256())).isEqualTo(2);
        assertThat(names(cat.list(b2, vol, "/docs", 0, 100))).containsExactly("a.txt", "b.txt", "d.txt");
        // totals of later backups stay, and a new backup still builds on the pruned one's totals
        long b = incremental(Map.of(), List.of("/Zed.txt"), List.of());
        assertThat(cat.markComplete(b, T0).files()).isEqualTo(3);
    }

    @Test
    void regions_roundTripWithBlocks() throws Exception {
        long disk = cat.disks(vm).get(0).id();
        long b = cat.beginBackup(vm, T0, "reflink", "daily");
        List<LiveVersion> live = new ArrayList<>();
        cat.forEachLiveVersion(vol, b4, live::add);
        try (FileIngest in = cat.ingest(b, vol)) {
            live.forEach(v -> in.carry(v.versionId()));
            in.finish();
        }
        List<BlockRef> refs = List.of(new BlockRef(0, block("mbr")), new BlockRef(512, block("gap")));
        long r = cat.recordRegion(b, disk, 0, 1 << 20, "gap", refs);
        cat.recordDisk(b, disk, List.of("win10.vmdk"), 2L << 30, 12345);
        cat.markComplete(b, T0);
        assertThat(cat.regions(b, disk)).containsExactly(new Region(r, disk, 0, 1 << 20, "gap", refs));
        assertThat(cat.backupsReferencing(block("gap").sha256())).containsExactly(new BlockUse(b, 0, null, null, r));
        assertThat(cat.backup(b).orElseThrow().newBytes()).isEqualTo(6);
    }

    @Test
    void completion_closesVolumesTheBackupDidNotSee() throws Exception {
        long disk2 = cat.disk(vm, "scsi0:1", "/vmfs/volumes/ds1/win10/data.vmdk", List.of("data.vmdk"), 1L << 30);
        long vol2 = cat.volume(disk2, 1, 1 << 20, 1 << 29, "ntfs", null, 4096);
        long b = cat.beginBackup(vm, T0, "reflink", "daily");
        try (FileIngest in = cat.ingest(b, vol2)) {
            in.add(dir("/", 5));
            in.add(file("/data.db", 80, 1, "data"));
            in.finish();
        }
        cat.markComplete(b, T0);
        assertThatThrownBy(() -> cat.list(b, vol, "/", 0, 10)).isInstanceOf(NoSuchPathException.class);
        assertThat(names(cat.list(b, vol2, "/", 0, 10))).containsExactly("data.db");
        assertThat(names(cat.list(b4, vol, "/", 0, 10))).containsExactly("docs", "Zed.txt");
        assertThat(cat.backup(b).orElseThrow().files()).isEqualTo(1);
        assertThat(cat.volumesOf(b)).containsExactly(vol2);
    }

    /** Every file forEachFileUnder streams, rendered with its streams and blocks, as one string per file. */
    List<String> tree(long backup, long volume, String dir) throws Exception {
        List<String> out = new ArrayList<>();
        cat.forEachFileUnder(backup, volume, dir, f -> out.add(render(f)));
        return out;
    }

    static String render(TreeFile f) {
        StringBuilder b = new StringBuilder(f.entry().toString());
        for (TreeStream s : f.streams()) {
            b.append(" | ").append(s.info());
            assertThat(s.blocks()).hasSize(s.info().blockCount());
            for (FileBlock fb : s.blocks()) {
                b.append(" ").append(render(fb));
            }
        }
        return b.toString();
    }

    static String render(FileBlock fb) {
        return fb.stream() + "@" + fb.offset() + ":" + hex(fb.sha256()) + "/" + hex(fb.md5()) + "/" + fb.sizeBytes()
                + "/" + fb.storedSize() + "/" + fb.codec();
    }

    /** The same file built from stat() and blocks() per stream: what forEachFileUnder must equal. */
    String statLine(long backup, long volume, String path) throws Exception {
        Stat s = cat.stat(backup, volume, path).orElseThrow();
        StringBuilder b = new StringBuilder(s.entry().toString());
        for (StreamInfo si : s.streams()) {
            b.append(" | ").append(si);
            for (FileBlock fb : cat.blocks(backup, volume, path, si.name())) {
                b.append(" ").append(render(fb));
            }
        }
        return b.toString();
    }

    List<String> viaStat(long backup, long volume, String... paths) throws Exception {
        List<String> out = new ArrayList<>();
        for (String p : paths) {
            out.add(statLine(backup, volume, p));
        }
        return out;
    }

    @Test
    void forEachFileUnder_equalsStatAndBlocksInPathOrder() throws Exception {
        cat.markStored("dest-1", List.of(new StoredBlock(block("alpha"), 9, "zstd", new byte[] {1})));
        assertThat(tree(b1, vol, "/")).containsExactlyElementsOf(
                viaStat(b1, vol, "/C.bin", "/Zed.txt", "/docs/a.txt", "/docs/b.txt"));
        // b2 replaced b.txt, deleted C.bin, added d.txt; b3 (failed) added /x.txt and must not leak into b4
        assertThat(tree(b2, vol, "/")).containsExactlyElementsOf(
                viaStat(b2, vol, "/Zed.txt", "/docs/a.txt", "/docs/b.txt", "/docs/d.txt"));
        assertThat(tree(b4, vol, "/")).containsExactlyElementsOf(tree(b2, vol, "/"));
        assertThat(tree(b1, vol, "/docs")).containsExactlyElementsOf(viaStat(b1, vol, "/docs/a.txt", "/docs/b.txt"));
        assertThat(tree(b1, vol, "/docs")).isNotEqualTo(tree(b2, vol, "/docs").subList(0, 2));
        // a file given directly is the only answer
        assertThat(tree(b2, vol, "/docs/b.txt")).containsExactlyElementsOf(viaStat(b2, vol, "/docs/b.txt"));
        // hand-checked: the stored block carries its destination size and codec
        List<TreeFile> zed = new ArrayList<>();
        cat.forEachFileUnder(b1, vol, "/Zed.txt", zed::add);
        FileBlock a = zed.get(0).streams().get(0).blocks().get(0);
        assertThat(hex(a.sha256())).isEqualTo(hex(block("alpha").sha256()));
        assertThat(List.of(a.stream(), a.offset(), a.sizeBytes(), a.storedSize(), a.codec()))
                .containsExactly("", 0L, 5L, 9L, "zstd");
        assertThat(zed.get(0).entry().path()).isEqualTo("/Zed.txt");
        assertThat(zed.get(0).entry().volumeId()).isEqualTo(vol);
    }

    @Test
    void forEachFileUnder_refusesMissingPathsAndUnqueryableBackups() {
        assertThatThrownBy(() -> cat.forEachFileUnder(b2, vol, "/C.bin", f -> { })).isInstanceOf(NoSuchPathException.class)
                .hasMessageContaining("/C.bin").hasMessageContaining("catalog.db");
        assertThatThrownBy(() -> cat.forEachFileUnder(b1, vol, "/nope", f -> { })).isInstanceOf(NoSuchPathException.class);
        assertThatThrownBy(() -> cat.forEachFileUnder(b1, vol, "no-slash", f -> { })).isInstanceOf(NoSuchPathException.class);
        assertThatThrownBy(() -> cat.forEachFileUnder(b3, vol, "/", f -> { })).isInstanceOf(NoSuchPathException.class)
                .hasMessageContaining("failed");
        assertThatThrownBy(() -> cat.forEachFileUnder(999, vol, "/", f -> { })).isInstanceOf(NoSuchPathException.class);
    }

    @Test
    void forEachFileUnder_nestedDirsStreamsEmptyFilesAndChunks() throws Exception {
        long disk2 = cat.disk(vm, "scsi0:1", "/vmfs/volumes/ds1/win10/data.vmdk", List.of("data.vmdk"), 1L << 30);
        long vol2 = cat.volume(disk2, 1, 1 << 20, 1 << 29, "ntfs", null, 4096);
        long b = cat.beginBackup(vm, T0, "reflink", "daily");
        List<String> many = new ArrayList<>();
        try (FileIngest in = cat.ingest(b, vol2)) {
            in.add(dir("/", 5));
            for (String d : List.of("/a", "/a/b", "/a/b/c", "/a-b", "/a/empty", "/z")) {
                in.add(dir(d, 100 + d.length()));
            }
            in.add(file("/a/z.txt", 60, 1, "zulu"));
            in.add(file("/a/b/c/f.txt", 61, 1, "foxtrot", "golf"));
            in.add(file("/a-b/x", 62, 1, "xray"));
            in.add(file("/a/b/empty.txt", 63, 1));
            FileRecord f = file("/a/ads.txt", 64, 1, "main");
            Block zone = block("[ZoneTransfer]\r\nZoneId=3");
            in.add(new FileRecord(f.path(), f.mftRecord(), f.mftSequence(), f.parentRecord(), f.kind(), f.size(),
                    f.createdNanos(), f.modifiedNanos(), f.mftChangedNanos(), f.accessedNanos(), f.attributes(),
                    f.fingerprint(), List.of(f.streams().get(0), new StreamRecord("Zone.Identifier", zone.sizeBytes(),
                            List.of(new BlockRef(0, zone)), List.of(new Run(7777, 1))))));
            // more files than one chunk, in a directory of its own
            for (int i = 0; i < Catalog.TREE_CHUNK_FILES + 7; i++) {
                String p = String.format("/z/f%05d", i);
                many.add(p);
                in.add(file(p, 1000 + i, 1, "z" + (i % 5)));
            }
            in.finish();
        }
        cat.markComplete(b, T0);
        // full-path byte order: '-' (0x2d) sorts before '/' (0x2f), so /a-b/x comes before everything in /a
        assertThat(tree(b, vol2, "/a")).containsExactlyElementsOf(
                viaStat(b, vol2, "/a/ads.txt", "/a/b/c/f.txt", "/a/b/empty.txt", "/a/z.txt"));
        List<String> all = new ArrayList<>(List.of("/a-b/x", "/a/ads.txt", "/a/b/c/f.txt", "/a/b/empty.txt",
                "/a/z.txt"));
        all.addAll(many);
        assertThat(tree(b, vol2, "/")).containsExactlyElementsOf(viaStat(b, vol2, all.toArray(new String[0])));
        assertThat(tree(b, vol2, "/a/empty")).isEmpty();
        assertThat(tree(b, vol2, "/a/b")).containsExactlyElementsOf(viaStat(b, vol2, "/a/b/c/f.txt", "/a/b/empty.txt"));
        List<TreeFile> ads = new ArrayList<>();
        cat.forEachFileUnder(b, vol2, "/a/ads.txt", ads::add);
        assertThat(ads.get(0).streams()).extracting(s -> s.info().name()).containsExactly("", "Zone.Identifier");
        assertThat(ads.get(0).streams().get(1).blocks()).singleElement()
                .satisfies(x -> assertThat(x.stream()).isEqualTo("Zone.Identifier"));
        List<TreeFile> empty = new ArrayList<>();
        cat.forEachFileUnder(b, vol2, "/a/b/empty.txt", empty::add);
        assertThat(empty.get(0).streams()).singleElement().satisfies(s -> {
            assertThat(s.blocks()).isEmpty();
            assertThat(s.info().size()).isZero();
        });
        // the other volume's tree does not leak in
        assertThat(tree(b4, vol, "/")).hasSize(4);
    }

    @Test
    void ingest_reusesNamesAnotherCatalogInstanceStored() throws Exception {
        long b5;
        cat.close();
        // a fresh instance has an empty name cache: "a.txt" and "b.txt" exist in the name table, "new.txt" does not
        cat = Catalog.open(tmp.resolve("catalog.db"));
        b5 = incremental(Map.of("/docs/a.txt", file("/docs/a.txt", 40, 9, "alpha-9")), List.of(),
                List.of(file("/b.txt", 60, 1, "b-root"), file("/docs/new.txt", 61, 1, "new"),
                        file("/new.txt", 62, 1, "new-root")));
        cat.markComplete(b5, T0.plusSeconds(20_000));
        assertThat(names(cat.list(b5, vol, "/", 0, 100))).containsExactly("b.txt", "docs", "new.txt", "Zed.txt");
        assertThat(names(cat.list(b5, vol, "/docs", 0, 100))).containsExactly("a.txt", "b.txt", "d.txt", "new.txt");
        assertThat(cat.stat(b5, vol, "/docs/a.txt").orElseThrow().entry().fingerprint()).isEqualTo(9);
        assertThat(cat.stat(b5, vol, "/b.txt").orElseThrow().entry().mftRecord()).isEqualTo(60);
        assertThat(cat.findGlob("new.txt", OptionalLong.of(b5), 10)).extracting(v -> v.entry().path())
                .containsExactlyInAnyOrder("/docs/new.txt", "/new.txt");
        // one name row per distinct name
        assertThat(cat.findGlob("b.txt", OptionalLong.empty(), 10)).extracting(v -> v.entry().path())
                .containsExactlyInAnyOrder("/b.txt", "/docs/b.txt", "/docs/b.txt");
    }

    @Test
    void registry_upsertsAndLooksUp() throws Exception {
        long ds = cat.datastore("/vmfs/volumes/ds1");
        assertThat(cat.vm(ds, "win10", "Windows 10 renamed", "564d-1234")).isEqualTo(vm);
        assertThat(cat.vms()).containsExactly(new VmInfo(vm, ds, "/vmfs/volumes/ds1", "win10", "Windows 10 renamed",
                "564d-1234"));
        DiskInfo d = cat.disks(vm).get(0);
        assertThat(d.chain()).containsExactly("win10.vmdk", "win10-000001.vmdk");
        assertThat(d.slot()).isEqualTo("scsi0:0");
        assertThat(cat.volumes(d.id())).containsExactly(new VolumeInfo(vol, d.id(), 1, 1 << 20,
                (2L << 30) - (1 << 20), "ntfs", "A1B2C3D4", 4096));
        assertThat(cat.schemaVersion()).isEqualTo(Catalog.SCHEMA_VERSION);
    }

    @Test
    void changeTracking_streamsOfAVersion_andTheLayersOfACompleteBackupsDisk() throws Exception {
        long disk = cat.disks(vm).get(0).id();
        long b = cat.beginBackup(vm, T0.plusSeconds(90_000), "reflink", "daily");
        FileRecord f = file("/tracked.bin", 90, 1, "tango-1", "tango-2");
        StreamRecord s = f.streams().get(0);
        try (FileIngest in = cat.ingest(b, vol)) {
            in.add(new FileRecord(f.path(), f.mftRecord(), f.mftSequence(), f.parentRecord(), f.kind(), f.size(),
                    f.createdNanos(), f.modifiedNanos(), f.mftChangedNanos(), f.accessedNanos(), f.attributes(),
                    f.fingerprint(), List.of(new StreamRecord("", s.size(), s.blocks(), s.runs(), 7),
                            new StreamRecord("old", 3, List.of(new BlockRef(0, block("old"))), List.of()))));
            in.finish();
        }
        cat.recordDisk(b, disk, List.of("win10.vmdk"), 2L << 30, 100, "0\t/ds/win10.vmdk\t1\t2\t3\t4:5\n");
        assertThat(cat.diskLayers(b, disk)).as("only a complete backup's layers count").isEmpty();
        cat.markComplete(b, T0.plusSeconds(90_060));
        assertThat(cat.diskLayers(b, disk)).contains("0\t/ds/win10.vmdk\t1\t2\t3\t4:5\n");
        assertThat(cat.diskLayers(b1, disk)).as("a backup that recorded none").isEmpty();

        List<LiveVersion> live = new ArrayList<>();
        cat.forEachLiveVersion(vol, b, v -> {
            if (v.path().equals("/tracked.bin")) {
                live.add(v);
            }
        });
        Map<String, StreamRecord> streams = cat.streamsOf(live.get(0).versionId());
        assertThat(streams.keySet()).containsExactlyInAnyOrder("", "old");
        StreamRecord back = streams.get("");
        assertThat(back.size()).isEqualTo(s.size());
        assertThat(back.initialized()).isEqualTo(7);
        assertThat(back.runs()).isEqualTo(s.runs());
        assertThat(back.blocks()).extracting(BlockRef::offset).containsExactly(0L, (long) "tango-1".length());
        assertThat(back.blocks().get(1).block().sha256()).isEqualTo(block("tango-2").sha256());
        assertThat(back.blocks().get(1).block().md5()).isEqualTo(block("tango-2").md5());
        assertThat(streams.get("old").initialized()).as("written without one: unknown").isEqualTo(-1);
    }

}
