package dev.coffer.catalog;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Batched ingest of one volume's files into one running backup (from {@link Catalog#ingest}). Not
 * thread-safe: one thread drives one ingest; several ingests (of different volumes) may run at once, their
 * batches serialised on the catalog's writer.
 *
 * <p>{@link #add} buffers a new or changed file; every {@code batchFiles} files are written in one
 * transaction with prepared statements (a version row, a stream row per stream, a block upsert per block).
 * {@link #carry} marks an unchanged version of the previous backup as still live and writes nothing. {@link
 * #finish} writes the rest, then closes ({@code valid_to} = this backup) every version live before this
 * backup that was not carried, which is exactly the changed and deleted ones.
 */
public final class FileIngest implements AutoCloseable {
    /** Largest version id a carry can name: BitSet indexes are ints. 2^31 versions is far past the 1 GiB target. */
    static final long MAX_VERSION_ID = Integer.MAX_VALUE;
    /** Rows per executeBatch of the final block merge: bounds the driver's parameter buffer (~10k x 5 values). */
    static final int MERGE_BATCH_ROWS = 10_000;

    private final Catalog catalog;
    private final long backupId;
    private final long volumeId;
    private final int batchFiles;
    private final List<FileRecord> batch = new ArrayList<>();
    private final BitSet carried = new BitSet();
    private final Map<String, Long> dirIds = new HashMap<>();
    /** This ingest's block references of committed batches, not yet counted in {@code block}. */
    private final PendingRefs pending = new PendingRefs();
    private long added;
    private long carriedCount;
    private boolean finished;

    FileIngest(Catalog catalog, long backupId, long volumeId, int batchFiles) {
        this.catalog = catalog;
        this.backupId = backupId;
        this.volumeId = volumeId;
        this.batchFiles = batchFiles;
    }

    /** The backup this ingest writes into. */
    public long backupId() {
        return backupId;
    }

    /** The volume this ingest writes. */
    public long volumeId() {
        return volumeId;
    }

    /**
     * Adds a new or changed file (its previous version, if any, is closed by {@link #finish} because it is
     * not carried). Writes a batch when {@code batchFiles} are buffered.
     *
     * @throws IllegalArgumentException the path is not a valid volume path (see {@link FileRecord})
     */
    public void add(FileRecord file) throws CatalogException {
        checkOpen();
        Paths2.check(file.path());
        batch.add(file);
        if (batch.size() >= batchFiles) {
            flush();
        }
    }

    /** Marks version {@code versionId} (from {@link Catalog#forEachLiveVersion}) unchanged: it stays live, no row is written. */
    public void carry(long versionId) {
        checkOpen();
        if (versionId <= 0 || versionId > MAX_VERSION_ID) {
            throw new IllegalArgumentException("version id " + versionId);
        }
        if (!carried.get((int) versionId)) {
            carried.set((int) versionId);
            carriedCount++;
        }
    }

    /** Writes the buffered files now, in one transaction. */
    public void flush() throws CatalogException {
        checkOpen();
        if (batch.isEmpty()) {
            return;
        }
        List<FileRecord> files = new ArrayList<>(batch);
        batch.clear();
        // the batch's references count only once its transaction committed: a rolled-back batch adds none
        byte[] run;
        try {
            run = catalog.write("ingest " + files.size() + " files into backup " + backupId,
                    con -> writeBatch(con, files));
        } catch (CatalogException | RuntimeException e) {
            // a failed commit rolls back ids the caches already learned
            dirIds.clear();
            catalog.nameIds.clear();
            throw e;
        }
        pending.addRun(run);
        added += files.size();
    }

    /**
     * Writes what is buffered, closes the versions live before this backup that were neither carried nor
     * re-added, checks that no path now has two live versions, and records the volume as part of the backup.
     *
     * @throws CatalogException a carried id is not a live version of this volume, or a path was added twice
     *     (or both added and carried); the backup should then be marked failed
     */
    public IngestResult finish() throws CatalogException {
        flush();
        finished = true;
        long closed = catalog.write("finish ingest of volume " + volumeId + " in backup " + backupId, con -> {
            List<Long> close = new ArrayList<>();
            long carriedFound = 0;
            try (PreparedStatement ps = con.prepareStatement("SELECT v.id FROM dir d JOIN version v ON v.dir_id = d.id"
                    + " WHERE d.volume_id = ? AND v.valid_to IS NULL AND v.valid_from < ?")) {
                ps.setLong(1, volumeId);
                ps.setLong(2, backupId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long id = rs.getLong(1);
                        if (id <= MAX_VERSION_ID && carried.get((int) id)) {
                            carriedFound++;
                        } else {
                            close.add(id);
                        }
                    }
                }
            }
            if (carriedFound != carriedCount) {
                throw new CatalogException(catalog.file() + ": backup " + backupId + " carried " + carriedCount
                        + " versions but only " + carriedFound + " are live versions of volume " + volumeId);
            }
            try (PreparedStatement ps = con.prepareStatement("UPDATE version SET valid_to = ? WHERE id = ?")) {
                for (long id : close) {
                    ps.setLong(1, backupId);
                    ps.setLong(2, id);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            // Two live versions of one path can only involve a version this backup added. When the adds are at
            // least as many as the versions live before (a first, full backup), one pass over the volume's live
            // versions in version_path order finds equal neighbours (~0.3 us a row); otherwise each added version
            // is probed (~0.6 us each) instead of visiting every live version of the volume.
            if (added >= carriedFound + close.size()) {
                checkNoTwoLiveVersionsByScan(con);
            } else try (PreparedStatement ps = con.prepareStatement("SELECT d.path, n.name FROM version a"
                    + " JOIN dir d ON d.id = a.dir_id JOIN name n ON n.id = a.name_id"
                    + " WHERE a.valid_from = ?1 AND d.volume_id = ?2 AND EXISTS (SELECT 1 FROM version o"
                    + " WHERE o.dir_id = a.dir_id AND o.name_id = a.name_id AND o.id <> a.id AND o.valid_to IS NULL)"
                    + " LIMIT 1")) {
                ps.setLong(1, backupId);
                ps.setLong(2, volumeId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        throw new CatalogException(catalog.file() + ": backup " + backupId + " has two live versions of "
                                + Paths2.join(rs.getString(1), rs.getString(2)) + " on volume " + volumeId
                                + " (added twice, or added and carried)");
                    }
                }
            }
            // Count this volume's block references now, in SHA-256 order: random-key inserts batch by batch
            // would rewrite most pages of the block table on every commit (docs/perf/catalog.md). Each batch's
            // references were sorted in Java when it was written; here the runs are merged and grouped.
            try (PreparedStatement ps = con.prepareStatement("INSERT INTO block(sha256, md5, size, first_backup, refs)"
                    + " VALUES(?,?,?,?,?) ON CONFLICT(sha256) DO UPDATE SET refs = refs + excluded.refs,"
                    + " first_backup = coalesce(first_backup, excluded.first_backup)")) {
                int[] queued = {0};
                pending.forEachGroupedConcurrently((sha, md5, size, refs) -> {
                    ps.setBytes(1, sha);
                    ps.setBytes(2, md5);
                    ps.setLong(3, size);
                    ps.setLong(4, backupId);
                    ps.setLong(5, refs);
                    ps.addBatch();
                    if (++queued[0] == MERGE_BATCH_ROWS) {
                        ps.executeBatch();
                        queued[0] = 0;
                    }
                });
                ps.executeBatch();
            }
            try (PreparedStatement ps = con.prepareStatement("INSERT INTO backup_volume(backup_id, volume_id, added,"
                    + " carried, closed) VALUES(?,?,?,?,?)")) {
                ps.setLong(1, backupId);
                ps.setLong(2, volumeId);
                ps.setLong(3, added);
                ps.setLong(4, carriedCount);
                ps.setLong(5, close.size());
                ps.executeUpdate();
            }
            return (long) close.size();
        });
        return new IngestResult(added, carriedCount, closed);
    }

    /**
     * Drops what is buffered of an unfinished ingest; rows already written stay (uncounted) until the backup
     * is marked failed. After {@link #finish} it does nothing.
     */
    @Override
    public void close() throws CatalogException {
        if (finished) {
            return;
        }
        batch.clear();
        pending.clear();
        finished = true;
    }

    /** The scan variant of finish's duplicate check: live versions of the volume, neighbours in (dir, name) order. */
    private void checkNoTwoLiveVersionsByScan(Connection con) throws SQLException, CatalogException {
        try (PreparedStatement ps = con.prepareStatement("SELECT v.dir_id, v.name_id FROM dir d"
                + " JOIN version v INDEXED BY version_path ON v.dir_id = d.id"
                + " WHERE d.volume_id = ? AND v.valid_to IS NULL")) {
            ps.setLong(1, volumeId);
            ps.setFetchSize(4096);
            long prevDir = -1;
            long prevName = -1;
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long dir = rs.getLong(1);
                    long name = rs.getLong(2);
                    if (dir == prevDir && name == prevName) {
                        String path = describe(con, dir, name);
                        throw new CatalogException(catalog.file() + ": backup " + backupId + " has two live versions of "
                                + path + " on volume " + volumeId + " (added twice, or added and carried)");
                    }
                    prevDir = dir;
                    prevName = name;
                }
            }
        }
    }

    private static String describe(Connection con, long dirId, long nameId) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement("SELECT d.path, n.name FROM dir d, name n WHERE d.id = ? AND n.id = ?")) {
            ps.setLong(1, dirId);
            ps.setLong(2, nameId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Paths2.join(rs.getString(1), rs.getString(2)) : "dir " + dirId + " name " + nameId;
            }
        }
    }

    private void checkOpen() {
        if (finished) {
            throw new IllegalStateException("ingest of volume " + volumeId + " in backup " + backupId + " is finished");
        }
    }

    /** Writes one batch (inside the caller's transaction) and returns its block references as a sorted run. */
    private byte[] writeBatch(Connection con, List<FileRecord> batch) throws SQLException, CatalogException {
        long nextVersion = Catalog.queryOptionalLong(con, "SELECT max(id) FROM version").orElse(0) + 1;
        long[] nextName = {Catalog.queryOptionalLong(con, "SELECT max(id) FROM name").orElse(0) + 1};
        Map<String, Long> names = catalog.nameIds;
        if (names.size() > Catalog.NAME_CACHE_MAX) {
            names.clear();
        }
        PendingRefs.Batch refs = new PendingRefs.Batch();
        try (PreparedStatement state = con.prepareStatement("SELECT state FROM backup WHERE id = ?")) {
            state.setLong(1, backupId);
            try (ResultSet rs = state.executeQuery()) {
                if (!rs.next() || !rs.getString(1).equals("running")) {
                    throw new CatalogException(catalog.file() + ": backup " + backupId + " is not running");
                }
            }
        }
        try (PreparedStatement selName = con.prepareStatement("SELECT id FROM name WHERE name = ?");
                PreparedStatement insName = con.prepareStatement(
                        "INSERT INTO name(id, name) VALUES(?, ?) ON CONFLICT(name) DO NOTHING");
                PreparedStatement selDir = con.prepareStatement("SELECT id FROM dir WHERE volume_id = ? AND path = ?");
                PreparedStatement insDir = con.prepareStatement("INSERT INTO dir(volume_id, path) VALUES(?, ?)");
                PreparedStatement insVersion = con.prepareStatement("INSERT INTO version(id, dir_id, name_id,"
                        + " valid_from, valid_to, kind, size, mft_record, mft_sequence, parent_record, created_ns,"
                        + " modified_ns, changed_ns, accessed_ns, attributes, fingerprint)"
                        + " VALUES(?,?,?,?,NULL,?,?,?,?,?,?,?,?,?,?,?)");
                PreparedStatement insStream = con.prepareStatement(
                        "INSERT INTO stream(version_id, name, size, blocks, runs, initialized) VALUES(?,?,?,?,?,?)")) {
            List<String> newNames = new ArrayList<>();
            // Names the cache does not know: insert them all in one executeBatch with ids chosen here (in a full
            // backup most names are new); a name another ingest already stored inserts nothing (update count 0)
            // and is looked up instead. One driver call per batch instead of one per name.
            String[][] split = new String[batch.size()][];
            Map<String, Long> tentative = new java.util.LinkedHashMap<>();
            for (int i = 0; i < split.length; i++) {
                split[i] = Paths2.split(batch.get(i).path());
                String name = split[i][1];
                if (!names.containsKey(name) && !tentative.containsKey(name)) {
                    long id = nextName[0]++;
                    tentative.put(name, id);
                    insName.setLong(1, id);
                    insName.setString(2, name);
                    insName.addBatch();
                }
            }
            if (!tentative.isEmpty()) {
                int[] inserted = insName.executeBatch();
                int i = 0;
                for (Map.Entry<String, Long> t : tentative.entrySet()) {
                    if (inserted[i++] == 1) {
                        newNames.add(t.getKey());
                        names.put(t.getKey(), t.getValue());
                    } else {
                        selName.setString(1, t.getKey());
                        try (ResultSet rs = selName.executeQuery()) {
                            if (!rs.next()) {
                                throw new CatalogException(catalog.file() + ": name '" + t.getKey()
                                        + "' neither inserted nor found");
                            }
                            names.put(t.getKey(), rs.getLong(1));
                        }
                    }
                }
            }
            for (int fi = 0; fi < split.length; fi++) {
                FileRecord f = batch.get(fi);
                String[] dn = split[fi];
                long dirId = dirId(selDir, insDir, con, dn[0]);
                long nameId = names.get(dn[1]);
                long vid = nextVersion++;
                insVersion.setLong(1, vid);
                insVersion.setLong(2, dirId);
                insVersion.setLong(3, nameId);
                insVersion.setLong(4, backupId);
                insVersion.setInt(5, f.kind().code());
                insVersion.setLong(6, f.size());
                insVersion.setLong(7, f.mftRecord());
                insVersion.setInt(8, f.mftSequence());
                insVersion.setLong(9, f.parentRecord());
                insVersion.setLong(10, f.createdNanos());
                insVersion.setLong(11, f.modifiedNanos());
                insVersion.setLong(12, f.mftChangedNanos());
                insVersion.setLong(13, f.accessedNanos());
                insVersion.setInt(14, f.attributes());
                insVersion.setLong(15, f.fingerprint());
                insVersion.addBatch();
                for (StreamRecord s : f.streams()) {
                    insStream.setLong(1, vid);
                    insStream.setString(2, s.name());
                    insStream.setLong(3, s.size());
                    insStream.setBytes(4, Blobs.encodeBlocks(s.blocks()));
                    insStream.setBytes(5, Blobs.encodeRuns(s.runs()));
                    if (s.initialized() < 0) {
                        insStream.setNull(6, java.sql.Types.INTEGER);
                    } else {
                        insStream.setLong(6, s.initialized());
                    }
                    insStream.addBatch();
                    for (BlockRef r : s.blocks()) {
                        refs.add(r.block());
                    }
                }
            }
            try {
                insVersion.executeBatch();
                insStream.executeBatch();
            } catch (SQLException e) {
                // the transaction rolls back: forget ids this batch invented
                for (String n : newNames) {
                    names.remove(n);
                }
                dirIds.clear();
                throw e;
            }
            return refs.sortedRun();
        } catch (SQLException | CatalogException | RuntimeException e) {
            dirIds.clear();
            names.clear();
            throw e;
        }
    }

    private long dirId(PreparedStatement sel, PreparedStatement ins, Connection con, String path) throws SQLException {
        Long id = dirIds.get(path);
        if (id != null) {
            return id;
        }
        sel.setLong(1, volumeId);
        sel.setString(2, path);
        try (ResultSet rs = sel.executeQuery()) {
            if (rs.next()) {
                id = rs.getLong(1);
            }
        }
        if (id == null) {
            ins.setLong(1, volumeId);
            ins.setString(2, path);
            ins.executeUpdate();
            try (Statement st = con.createStatement(); ResultSet rs = st.executeQuery("SELECT last_insert_rowid()")) {
                rs.next();
                id = rs.getLong(1);
            }
        }
        dirIds.put(path, id);
        return id;
    }
}
