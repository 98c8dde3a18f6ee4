package dev.coffer.catalog;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteOpenMode;

/**
 * Opens catalog files and applies the numbered migrations in {@code schema/00N-*.sql} (resources beside
 * this class). Version N's file turns a version N-1 catalog into version N; each runs in one transaction
 * that also records the version in {@code schema_version} and {@code PRAGMA user_version}.
 */
final class Schema {
    /** Resource names of the migrations, index i = version i+1. */
    static final List<String> MIGRATIONS = List.of("001-initial.sql", "002-copy-log.sql", "003-change-tracking.sql");

    /** WAL pages after which the writer checkpoints itself: 16384 = 64 MiB at 4 KiB pages (see Checkpointer). */
    static final int WRITER_AUTOCHECKPOINT_PAGES = 16_384;

    private Schema() {}

    static Connection connect(Path file, int cacheMib, SQLiteConfig.TransactionMode mode) throws SQLException {
        SQLiteConfig cfg = new SQLiteConfig();
        cfg.setBusyTimeout(Catalog.BUSY_TIMEOUT_MS);
        cfg.setTransactionMode(mode);
        cfg.setOpenMode(SQLiteOpenMode.NOMUTEX);
        // The driver would otherwise run "SELECT last_insert_rowid()" (a prepare and a step) after every
        // executeUpdate: ~8% of a full ingest's CPU (docs/perf/catalog.md). Ids come from explicit queries.
        cfg.setGetGeneratedKeys(false);
        Connection con = cfg.createConnection("jdbc:sqlite:" + file);
        try (Statement st = con.createStatement()) {
            st.execute("PRAGMA cache_size = " + (-1024L * cacheMib));
            st.execute("PRAGMA temp_store = MEMORY");
            st.execute("PRAGMA foreign_keys = ON");
            // 1 GiB of address space: reads of a warm catalog skip the read() copy into the page cache.
            st.execute("PRAGMA mmap_size = 1073741824");
        }
        return con;
    }

    /**
     * Opens the writer connection of {@code file}: refuses non-SQLite and foreign files and newer schemas,
     * creates or migrates to {@code target}, switches to WAL with synchronous=NORMAL.
     */
    static Connection openChecked(Path file, int cacheMib, int target) throws SQLException, CatalogException {
        boolean fresh = !Files.exists(file);
        if (!fresh) {
            checkHeader(file);
        }
        Connection con = connect(file, cacheMib, SQLiteConfig.TransactionMode.IMMEDIATE);
        try {
            int have = checkIdentity(con, file, target);
            try (Statement st = con.createStatement()) {
                if (have == 0) {
                    st.execute("PRAGMA page_size = " + Catalog.PAGE_SIZE);
                }
                String mode;
                try (ResultSet rs = st.executeQuery("PRAGMA journal_mode = WAL")) {
                    rs.next();
                    mode = rs.getString(1);
                }
                if (!"wal".equalsIgnoreCase(mode)) {
                    throw new CatalogException(file + ": cannot switch to WAL journal mode (got " + mode + ")");
                }
                // NORMAL in WAL: a commit survives an application crash (the WAL is in the OS); a power loss
                // may drop the last commits but never corrupts. markComplete commits with FULL.
                st.execute("PRAGMA synchronous = NORMAL");
                // Checkpoints run on the Checkpointer's thread; the writer checkpoints itself only past 64 MiB of
                // WAL (the background thread fell behind, or a long read pins the WAL).
                st.execute("PRAGMA wal_autocheckpoint = " + WRITER_AUTOCHECKPOINT_PAGES);
            }
            migrate(con, file, have, target);
            return con;
        } catch (SQLException | CatalogException | RuntimeException e) {
            try {
                con.close();
            } catch (SQLException ignored) {
                // reporting the first failure
            }
            throw e;
        }
    }

    static void checkHeader(Path file) throws CatalogException {
        byte[] h;
        try {
            if (Files.size(file) == 0) {
                return; // an empty file is a fresh database to SQLite
            }
            h = Catalog.readHeader(file);
        } catch (IOException e) {
            throw new CatalogException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (!Catalog.isSqliteHeader(h)) {
            throw new CorruptCatalogException(file + ": not an SQLite database: header at 0x0 expected \"SQLite format 3\","
                    + " found " + Catalog.hex(java.util.Arrays.copyOf(h, Math.min(16, h.length))));
        }
    }

    /** Returns the file's schema version (0 = empty database), refusing foreign and newer files. */
    static int checkIdentity(Connection con, Path file, int target) throws SQLException, CatalogException {
        int appId;
        int userVersion;
        int tables;
        try (Statement st = con.createStatement()) {
            try (ResultSet rs = st.executeQuery("PRAGMA application_id")) {
                rs.next();
                appId = rs.getInt(1);
            }
            try (ResultSet rs = st.executeQuery("PRAGMA user_version")) {
                rs.next();
                userVersion = rs.getInt(1);
            }
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM sqlite_schema")) {
                rs.next();
                tables = rs.getInt(1);
            }
        } catch (SQLException e) {
            throw Catalog.translate(file, "read header", e);
        }
        if (appId == 0 && tables == 0) {
            return 0;
        }
        if (appId != Catalog.APPLICATION_ID) {
            throw new CorruptCatalogException(file + ": not a Coffer catalog: application_id at 0x44 expected 0x"
                    + Integer.toHexString(Catalog.APPLICATION_ID) + ", found 0x" + Integer.toHexString(appId));
        }
        int recorded;
        try (Statement st = con.createStatement();
                ResultSet rs = st.executeQuery("SELECT max(version) FROM schema_version")) {
            rs.next();
            recorded = rs.getInt(1);
        } catch (SQLException e) {
            throw new CorruptCatalogException(file + ": Coffer catalog without a readable schema_version table: "
                    + e.getMessage(), e);
        }
        if (recorded != userVersion) {
            throw new CorruptCatalogException(file + ": schema_version table says " + recorded
                    + " but user_version at 0x3c says " + userVersion);
        }
        if (recorded > target) {
            throw new UnsupportedSchemaException(file + ": catalog schema version " + recorded
                    + " is newer than this agent supports (" + target + "); upgrade the agent");
        }
        if (recorded < 1) {
            throw new CorruptCatalogException(file + ": schema version " + recorded + " is not a valid version");
        }
        return recorded;
    }

    /** Applies migrations {@code have+1 .. target}, each in its own transaction. */
    static void migrate(Connection con, Path file, int have, int target) throws SQLException, CatalogException {
        for (int v = have + 1; v <= target; v++) {
            List<String> statements = statements(MIGRATIONS.get(v - 1));
            try (Statement st = con.createStatement()) {
                st.execute("BEGIN IMMEDIATE");
                try {
                    if (v == 1) {
                        st.execute("PRAGMA application_id = " + Catalog.APPLICATION_ID);
                    }
                    for (String sql : statements) {
                        st.execute(sql);
                    }
                    try (PreparedStatement ps = con.prepareStatement(
                            "INSERT INTO schema_version(version, applied_ns) VALUES(?, ?)")) {
                        ps.setInt(1, v);
                        ps.setLong(2, Catalog.nanos(java.time.Instant.now()));
                        ps.executeUpdate();
                    }
                    st.execute("PRAGMA user_version = " + v);
                    st.execute("COMMIT");
                } catch (SQLException e) {
                    st.execute("ROLLBACK");
                    throw Catalog.translate(file, "migrate to schema version " + v, e);
                }
            }
        }
    }

    /** The statements of one migration resource, split at ';' line ends, comments dropped. */
    static List<String> statements(String resource) throws CatalogException {
        String text;
        try (InputStream in = Schema.class.getResourceAsStream("schema/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("missing migration resource schema/" + resource);
            }
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CatalogException("cannot read migration " + resource + ": " + e.getMessage(), e);
        }
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (String line : text.split("\n")) {
            String t = line.strip();
            if (t.startsWith("--") || t.isEmpty()) {
                continue;
            }
            cur.append(line).append('\n');
            if (t.endsWith(";")) {
                out.add(cur.toString());
                cur.setLength(0);
            }
        }
        if (cur.toString().strip().length() > 0) {
            throw new IllegalStateException("migration " + resource + " ends without ';'");
        }
        return out;
    }

    static int version(Connection con) throws SQLException {
        try (Statement st = con.createStatement(); ResultSet rs = st.executeQuery("PRAGMA user_version")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Runs PRAGMA integrity_check; anything but "ok" is a CorruptCatalogException listing the first findings. */
    static void integrity(Connection con, Path file) throws SQLException, CatalogException {
        List<String> problems = new ArrayList<>();
        try (Statement st = con.createStatement(); ResultSet rs = st.executeQuery("PRAGMA integrity_check(20)")) {
            while (rs.next()) {
                problems.add(rs.getString(1));
            }
        } catch (SQLException e) {
            throw Catalog.translate(file, "integrity check", e);
        }
        if (!(problems.size() == 1 && problems.get(0).equals("ok"))) {
            throw new CorruptCatalogException(file + ": integrity_check found: " + String.join("; ", problems));
        }
    }

    /** Checks a catalog copy: SQLite header, integrity, Coffer application id, schema not newer than {@code target}. */
    static void verifyCopy(Path copy, int target) throws CatalogException {
        if (!Files.isRegularFile(copy)) {
            throw new CatalogException(copy + ": catalog copy does not exist");
        }
        checkHeader(copy);
        SQLiteConfig cfg = new SQLiteConfig();
        cfg.setReadOnly(true);
        try (Connection con = cfg.createConnection("jdbc:sqlite:" + copy)) {
            integrity(con, copy);
            if (checkIdentity(con, copy, target) == 0) {
                throw new CorruptCatalogException(copy + ": catalog copy is an empty database, not a Coffer catalog");
            }
        } catch (SQLException e) {
            throw Catalog.translate(copy, "verify copy", e);
        }
    }
}
