package dev.coffer.catalog;

import static dev.coffer.catalog.TestFiles.file;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteConfig;

/** Migrations from every earlier version, and what foreign, corrupt and newer files get. */
class SchemaTest {
    @TempDir
    Path tmp;

    /** Creates a catalog file at schema {@code version} exactly as that version's code did (its migrations only). */
    static void createAtVersion(Path f, int version) throws Exception {
        try (Connection con = Schema.connect(f, 8, SQLiteConfig.TransactionMode.IMMEDIATE)) {
            try (Statement st = con.createStatement()) {
                st.execute("PRAGMA journal_mode = WAL");
            }
            Schema.migrate(con, f, 0, version);
        }
    }

    @Test
    void open_createsLatestSchemaInWalMode() throws Exception {
        Path f = tmp.resolve("new.db");
        try (Catalog c = Catalog.open(f)) {
            assertThat(c.schemaVersion()).isEqualTo(Catalog.SCHEMA_VERSION);
        }
        try (Connection con = new SQLiteConfig().createConnection("jdbc:sqlite:" + f);
                Statement st = con.createStatement()) {
            assertThat(one(st, "PRAGMA journal_mode")).isEqualTo("wal");
            assertThat(one(st, "PRAGMA application_id")).isEqualTo(String.valueOf(0x43464652));
            assertThat(one(st, "SELECT group_concat(version) FROM schema_version")).isEqualTo("1,2,3");
            assertThat(one(st, "PRAGMA page_size")).isEqualTo(String.valueOf(Catalog.PAGE_SIZE));
        }
    }

    @Test
    void migrate_fromEveryEarlierVersionKeepsData() throws Exception {
        for (int v = 1; v < Catalog.SCHEMA_VERSION; v++) {
            Path f = tmp.resolve("v" + v + ".db");
            createAtVersion(f, v);
            // write data through the API of the oldest version that carries it: everything up to v1 is v1 tables
            try (Catalog c = Catalog.open(f)) {
                assertThat(c.schemaVersion()).isEqualTo(Catalog.SCHEMA_VERSION);
            }
        }
        // a version-1 catalog with real content, migrated: content intact and the v2 feature works
        Path f = tmp.resolve("content-v1.db");
        createAtVersion(f, 1);
        try (Connection con = Schema.connect(f, 8, SQLiteConfig.TransactionMode.IMMEDIATE);
                Statement st = con.createStatement()) {
            st.execute("INSERT INTO datastore(id, path) VALUES(1, '/ds')");
            st.execute("INSERT INTO vm(id, datastore_id, folder, display_name) VALUES(1, 1, 'vm', 'VM')");
            st.execute("INSERT INTO disk(id, vm_id, slot, file_path, chain, capacity_bytes) VALUES(1, 1, 'scsi0:0', 'x', 'x.vmdk', 100)");
            st.execute("INSERT INTO volume(id, disk_id, partition_index, offset_bytes, length_bytes, fs_kind, cluster_bytes)"
                    + " VALUES(1, 1, 1, 0, 100, 'ntfs', 4096)");
            st.execute("INSERT INTO backup(id, vm_id, state, started_ns, consistency, policy, files)"
                    + " VALUES(1, 1, 'complete', 0, 'reflink', 'p', 1)");
            st.execute("INSERT INTO dir(id, volume_id, path) VALUES(1, 1, ''), (2, 1, '/')");
            st.execute("INSERT INTO name(id, name) VALUES(1, ''), (2, 'old.txt')");
            st.execute("INSERT INTO version(id, dir_id, name_id, valid_from, kind, size, mft_record, mft_sequence,"
                    + " parent_record, created_ns, modified_ns, changed_ns, accessed_ns, attributes, fingerprint)"
                    + " VALUES(1, 1, 1, 1, 1, 0, 5, 5, 5, 0, 0, 0, 0, 16, 0), (2, 2, 2, 1, 0, 3, 64, 1, 5, 0, 0, 0, 0, 32, 9)");
        }
        try (Catalog c = Catalog.open(f)) {
            assertThat(c.schemaVersion()).isEqualTo(Catalog.SCHEMA_VERSION);
            assertThat(c.list(1, 1, "/", 0, 10).items()).singleElement()
                    .satisfies(e -> assertThat(e.path()).isEqualTo("/old.txt"));
            assertThat(c.backup(1).orElseThrow().files()).isEqualTo(1);
            c.copyTo(tmp.resolve("copy.db")); // uses the v2 copy_log table
            long b = c.beginBackup(1, Instant.EPOCH, "reflink", "p");
            try (FileIngest in = c.ingest(b, 1)) {
                in.add(file("/new.txt", 70, 1, "n"));
                in.finish(); // old.txt and root not carried: closed
            }
            c.markComplete(b, Instant.EPOCH);
            assertThat(c.findGlob("*.txt", OptionalLong.empty(), 10)).extracting(v -> v.entry().path() + v.backups())
                    .containsExactly("/new.txt[" + b + "]", "/old.txt[1]");
        }
    }

    @Test
    void open_refusesNewerSchemaAndLeavesItUntouched() throws Exception {
        Path f = tmp.resolve("future.db");
        Catalog.open(f).close();
        try (Connection con = new SQLiteConfig().createConnection("jdbc:sqlite:" + f);
                Statement st = con.createStatement()) {
            st.execute("INSERT INTO schema_version VALUES(" + (Catalog.SCHEMA_VERSION + 1) + ", 0)");
            st.execute("PRAGMA user_version = " + (Catalog.SCHEMA_VERSION + 1));
        }
        byte[] before = Files.readAllBytes(f);
        assertThatThrownBy(() -> Catalog.open(f)).isInstanceOf(UnsupportedSchemaException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("version 4 is newer")
                .hasMessageContaining("(3)");
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
    }

    @Test
    void open_refusesForeignSqliteDatabase() throws Exception {
        Path f = tmp.resolve("firefox.sqlite");
        try (Connection con = new SQLiteConfig().createConnection("jdbc:sqlite:" + f);
                Statement st = con.createStatement()) {
            st.execute("CREATE TABLE moz_places(id INTEGER PRIMARY KEY, url TEXT)");
        }
        byte[] before = Files.readAllBytes(f);
        assertThatThrownBy(() -> Catalog.open(f)).isInstanceOf(CorruptCatalogException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("not a Coffer catalog")
                .hasMessageContaining("expected 0x43464652, found 0x0");
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
    }

    @Test
    void open_refusesNonSqliteFile() throws Exception {
        Path f = tmp.resolve("notes.txt");
        Files.writeString(f, "this is not a database, just some text that is long enough");
        assertThatThrownBy(() -> Catalog.open(f)).isInstanceOf(CorruptCatalogException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("header at 0x0");
    }

    @Test
    void open_reportsCorruptPages() throws Exception {
        Path f = tmp.resolve("torn.db");
        try (Catalog c = Catalog.open(f)) {
            c.datastore("/ds");
        }
        byte[] b = Files.readAllBytes(f);
        // page 1 holds sqlite_schema: garbage over its cell area breaks parsing the schema
        for (int i = 100; i < Catalog.PAGE_SIZE; i++) {
            b[i] = (byte) 0xA5;
        }
        Files.write(f, b);
        assertThatThrownBy(() -> Catalog.open(f)).isInstanceOf(CorruptCatalogException.class)
                .hasMessageContaining(f.toString());
    }

    @Test
    void migrations_areNumberedAndSplitIntoStatements() throws Exception {
        assertThat(Schema.MIGRATIONS).hasSize(Catalog.SCHEMA_VERSION);
        for (int i = 0; i < Schema.MIGRATIONS.size(); i++) {
            assertThat(Schema.MIGRATIONS.get(i)).startsWith(String.format("%03d-", i + 1));
            assertThat(Schema.statements(Schema.MIGRATIONS.get(i))).isNotEmpty()
                    .allSatisfy(s -> assertThat(s.strip()).endsWith(";"));
        }
        String v1 = new String(Schema.class.getResourceAsStream("schema/001-initial.sql").readAllBytes(),
                StandardCharsets.UTF_8);
        assertThat(Schema.statements("001-initial.sql")).hasSize((int) v1.lines().filter(l -> l.strip().endsWith(";")).count());
    }

    static String one(Statement st, String sql) throws Exception {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

}
