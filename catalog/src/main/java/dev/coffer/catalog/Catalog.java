package dev.coffer.catalog;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.sqlite.Function;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * The Coffer catalog: one SQLite database (WAL mode, one writer, many readers) holding datastores, VMs,
 * disks, volumes, backups, temporal file versions, streams, blocks and disk regions. Schema and semantics:
 * docs/catalog.md. Nothing outside this module writes SQL against it.
 *
 * <p>Thread-safe. Writes are serialised on one connection (each public write method is one transaction,
 * {@link FileIngest} writes one transaction per batch); reads run on a small pool of connections, each in
 * its own read transaction, and never block or see half of a write.
 *
 * <p>Visibility: only {@link BackupState#COMPLETE} backups can be queried. A version row is valid from the
 * backup that first saw it ({@code valid_from}) until the backup that replaced or deleted it ({@code
 * valid_to}, null while live); a running backup's new rows have {@code valid_from} greater than every
 * complete backup of the VM, and its closes {@code valid_to} greater too, so neither changes what any
 * complete backup shows. Marking it failed deletes its rows and reopens what it closed.
 */
public final class Catalog implements AutoCloseable {
    /** The schema version this code writes; {@code 00N-*.sql} migrations lead up to it. */
    public static final int SCHEMA_VERSION = 3;
    /** {@code PRAGMA application_id} of every Coffer catalog: ASCII "CFFR". */
    static final int APPLICATION_ID = 0x43464652;
    /** Database page size. Measured in docs/perf/catalog.md (4 KiB vs 8 KiB vs 16 KiB). */
    static final int PAGE_SIZE = 4096;
    /** How long a connection waits on another process's lock before failing: 30 s. */
    static final int BUSY_TIMEOUT_MS = 30_000;
    /** Largest page a listing or find returns: 100,000 entries, so one answer stays a few MiB. */
    public static final int MAX_PAGE = 100_000;
    private static final byte[] SQLITE_MAGIC = "SQLite format 3\0".getBytes(StandardCharsets.US_ASCII);
    static final String ENTRY_COLUMNS = "v.id, d.volume_id, d.path, n.name, v.kind, v.size, v.mft_record,"
            + " v.mft_sequence, v.parent_record, v.created_ns, v.modified_ns, v.changed_ns, v.accessed_ns,"
            + " v.attributes, v.fingerprint, v.valid_from, v.valid_to";
    static final String ENTRY_FROM = " FROM version v JOIN dir d ON d.id = v.dir_id JOIN name n ON n.id = v.name_id";

    private final Path file;
    private final CatalogOptions options;
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Background WAL checkpoints; started by the first commit, stopped by close. */
    private final Checkpointer checkpointer;
    /** Guarded by writeLock. */
    private Connection writer;
    private final LinkedBlockingQueue<Connection> idleReaders = new LinkedBlockingQueue<>();
    private final Semaphore readerPermits;
    private final Map<Long, Long> volumeVm = new ConcurrentHashMap<>();
    /** name → id cache for ingest; guarded by writeLock. Cleared when it passes NAME_CACHE_MAX. */
    final Map<String, Long> nameIds = new HashMap<>();
    /**
     * Most cached names: 1M entries, ~100 MiB of heap at NTFS's typical 20-character names; past it the cache
     * starts over (a miss costs one insert-or-lookup, ~2 µs).
     */
    static final int NAME_CACHE_MAX = 1_000_000;
    private volatile boolean closed;

    private Catalog(Path file, CatalogOptions options) {
        this.file = file;
        this.options = options;
        this.readerPermits = new Semaphore(options.readers());
        this.checkpointer = new Checkpointer(file);
    }

    /** Opens (creating if absent) the catalog at {@code dbFile} with default options, migrating an older schema. */
    public static Catalog open(Path dbFile) throws CatalogException {
        return open(dbFile, CatalogOptions.defaults());
    }

    /**
     * Opens (creating if absent) the catalog at {@code dbFile}, migrating an older schema to
     * {@link #SCHEMA_VERSION} (each migration one transaction).
     *
     * @throws CorruptCatalogException the file is not an SQLite database or belongs to another application
     * @throws UnsupportedSchemaException the schema is newer than this code
     */
    public static Catalog open(Path dbFile, CatalogOptions options) throws CatalogException {
        Path f = dbFile.toAbsolutePath();
        Catalog c = new Catalog(f, options);
        try {
            c.writer = Schema.openChecked(f, options.cacheMib(), SCHEMA_VERSION);
            if (options.maxSizeBytes() > 0) {
                try (Statement st = c.writer.createStatement()) {
                    st.execute("PRAGMA max_page_count = " + Math.max(1, options.maxSizeBytes() / PAGE_SIZE));
                }
            }
        } catch (SQLException e) {
            c.closeQuietly();
            throw translate(f, "open", e);
        } catch (CatalogException | RuntimeException e) {
            c.closeQuietly();
            throw e;
        }
        return c;
    }

    /** The database file. */
    public Path file() {
        return file;
    }

    /** The schema version of the open file (always {@link #SCHEMA_VERSION} after open). */
    public int schemaVersion() throws CatalogException {
        return read("schema version", con -> Schema.version(con));
    }

    // ------------------------------------------------------------------------------------------ registry

    /** Registers (or finds) a datastore by its path on the controller; returns its id. */
    public long datastore(String path) throws CatalogException {
        require(path != null && !path.isEmpty(), "datastore path");
        return write("register datastore " + path, con -> {
            try (PreparedStatement ps = con.prepareStatement(
                    "INSERT INTO datastore(path) VALUES(?) ON CONFLICT(path) DO NOTHING")) {
                ps.setString(1, path);
                ps.executeUpdate();
            }
            return queryLong(con, "SELECT id FROM datastore WHERE path = ?", path);
        });
    }

    /** Registers a VM (or updates its display name and uuid), keyed by datastore and folder; returns its id. */
    public long vm(long datastoreId, String folder, String displayName, String uuid) throws CatalogException {
        require(folder != null && displayName != null, "vm folder and display name");
        return write("register vm " + folder, con -> {
            try (PreparedStatement ps = con.prepareStatement("INSERT INTO vm(datastore_id, folder, display_name, uuid)"
                    + " VALUES(?,?,?,?) ON CONFLICT(datastore_id, folder) DO UPDATE SET"
                    + " display_name = excluded.display_name, uuid = excluded.uuid")) {
                ps.setLong(1, datastoreId);
                ps.setString(2, folder);
                ps.setString(3, displayName);
                ps.setString(4, uuid);
                ps.executeUpdate();
            }
            return queryLong(con, "SELECT id FROM vm WHERE datastore_id = ? AND folder = ?", datastoreId, folder);
        });
    }

    /** Registers (or updates) a disk of a VM keyed by its slot ("scsi0:0"); {@code chain} lists VMDK file names base first. */
    public long disk(long vmId, String slot, String filePath, List<String> chain, long capacityBytes)
            throws CatalogException {
        require(slot != null && filePath != null && capacityBytes >= 0, "disk slot, path and capacity");
        String chainText = encodeChain(chain);
        return write("register disk " + slot, con -> {
            try (PreparedStatement ps = con.prepareStatement("INSERT INTO disk(vm_id, slot, file_path, chain,"
                    + " capacity_bytes) VALUES(?,?,?,?,?) ON CONFLICT(vm_id, slot) DO UPDATE SET"
                    + " file_path = excluded.file_path, chain = excluded.chain, capacity_bytes = excluded.capacity_bytes")) {
                ps.setLong(1, vmId);
                ps.setString(2, slot);
                ps.setString(3, filePath);
                ps.setString(4, chainText);
                ps.setLong(5, capacityBytes);
                ps.executeUpdate();
            }
            return queryLong(con, "SELECT id FROM disk WHERE vm_id = ? AND slot = ?", vmId, slot);
        });
    }

    /** Registers (or updates) a volume of a disk keyed by partition index; {@code fsKind} is "ntfs" or "raw". */
    public long volume(long diskId, int partitionIndex, long offsetBytes, long lengthBytes, String fsKind,
            String serial, int clusterBytes) throws CatalogException {
        require(fsKind != null && offsetBytes >= 0 && lengthBytes >= 0 && clusterBytes >= 0, "volume fields");
        return write("register volume " + partitionIndex, con -> {
            try (PreparedStatement ps = con.prepareStatement("INSERT INTO volume(disk_id, partition_index,"
                    + " offset_bytes, length_bytes, fs_kind, serial, cluster_bytes) VALUES(?,?,?,?,?,?,?)"
                    + " ON CONFLICT(disk_id, partition_index) DO UPDATE SET offset_bytes = excluded.offset_bytes,"
                    + " length_bytes = excluded.length_bytes, fs_kind = excluded.fs_kind, serial = excluded.serial,"
                    + " cluster_bytes = excluded.cluster_bytes")) {
                ps.setLong(1, diskId);
                ps.setInt(2, partitionIndex);
                ps.setLong(3, offsetBytes);
                ps.setLong(4, lengthBytes);
                ps.setString(5, fsKind);
                ps.setString(6, serial);
                ps.setInt(7, clusterBytes);
                ps.executeUpdate();
            }
            return queryLong(con, "SELECT id FROM volume WHERE disk_id = ? AND partition_index = ?", diskId,
                    partitionIndex);
        });
    }

    /** Every registered VM, by id. */
    public List<VmInfo> vms() throws CatalogException {
        return read("list vms", con -> {
            List<VmInfo> out = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement("SELECT vm.id, vm.datastore_id, ds.path, vm.folder,"
                    + " vm.display_name, vm.uuid FROM vm JOIN datastore ds ON ds.id = vm.datastore_id ORDER BY vm.id");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new VmInfo(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                            rs.getString(5), rs.getString(6)));
                }
            }
            return out;
        });
    }

    /** The disks of a VM, by id. */
    public List<DiskInfo> disks(long vmId) throws CatalogException {
        return read("list disks", con -> {
            List<DiskInfo> out = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement("SELECT id, vm_id, slot, file_path, chain, capacity_bytes"
                    + " FROM disk WHERE vm_id = ? ORDER BY id")) {
                ps.setLong(1, vmId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new DiskInfo(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                                decodeChain(rs.getString(5)), rs.getLong(6)));
                    }
                }
            }
            return out;
        });
    }

    /** The volumes of a disk, by partition index. */
    public List<VolumeInfo> volumes(long diskId) throws CatalogException {
        return read("list volumes", con -> {
            List<VolumeInfo> out = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement("SELECT id, disk_id, partition_index, offset_bytes,"
                    + " length_bytes, fs_kind, serial, cluster_bytes FROM volume WHERE disk_id = ? ORDER BY partition_index")) {
                ps.setLong(1, diskId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new VolumeInfo(rs.getLong(1), rs.getLong(2), rs.getInt(3), rs.getLong(4),
                                rs.getLong(5), rs.getString(6), rs.getString(7), rs.getInt(8)));
                    }
                }
            }
            return out;
        });
    }

    // ------------------------------------------------------------------------------------------ backups

    /**
     * Starts a backup of a VM in state {@link BackupState#RUNNING} and returns its id (ids only grow).
     *
     * @throws CatalogException the VM already has a running backup (mark it failed first, e.g. with
     *     {@link #failInterrupted} after a restart)
     */
    public long beginBackup(long vmId, Instant started, String consistencySource, String policy)
            throws CatalogException {
        require(started != null && consistencySource != null && policy != null, "backup start fields");
        return write("begin backup of vm " + vmId, con -> {
            OptionalLong running = queryOptionalLong(con,
                    "SELECT id FROM backup WHERE vm_id = ? AND state = 'running'", vmId);
            if (running.isPresent()) {
                throw new CatalogException(file + ": vm " + vmId + " already has running backup "
                        + running.getAsLong() + "; mark it failed before starting another");
            }
            queryLong(con, "SELECT id FROM vm WHERE id = ?", vmId);
            try (PreparedStatement ps = con.prepareStatement("INSERT INTO backup(vm_id, state, started_ns,"
                    + " consistency, policy) VALUES(?, 'running', ?, ?, ?)")) {
                ps.setLong(1, vmId);
                ps.setLong(2, nanos(started));
                ps.setString(3, consistencySource);
                ps.setString(4, policy);
                ps.executeUpdate();
            }
            return queryLong(con, "SELECT last_insert_rowid()");
        });
    }

    /** Records what a running backup read of one disk: the chain it opened (base first), capacity and bytes read. */
    public void recordDisk(long backupId, long diskId, List<String> chain, long capacityBytes, long bytesRead)
            throws CatalogException {
        recordDisk(backupId, diskId, chain, capacityBytes, bytesRead, null);
    }

    /**
     * As above, with {@code layers}: the engine's description of the chain's files as they were while the
     * backup read them (null when they changed meanwhile). A later backup of the disk compares it with
     * the chain it finds to tell which bytes may have changed since ({@link #diskLayers}).
     */
    public void recordDisk(long backupId, long diskId, List<String> chain, long capacityBytes, long bytesRead,
            String layers) throws CatalogException {
        String chainText = encodeChain(chain);
        write("record disk " + diskId + " of backup " + backupId, con -> {
            requireState(con, backupId, BackupState.RUNNING);
            try (PreparedStatement ps = con.prepareStatement("INSERT OR REPLACE INTO backup_disk(backup_id, disk_id,"
                    + " chain, capacity_bytes, bytes_read, layers) VALUES(?,?,?,?,?,?)")) {
                ps.setLong(1, backupId);
                ps.setLong(2, diskId);
                ps.setString(3, chainText);
                ps.setLong(4, capacityBytes);
                ps.setLong(5, bytesRead);
                ps.setString(6, layers);
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** The {@code layers} a complete backup recorded for a disk; empty when none (or the backup is not complete). */
    public Optional<String> diskLayers(long backupId, long diskId) throws CatalogException {
        return read("layers of disk " + diskId + " in backup " + backupId, con -> {
            try (PreparedStatement ps = con.prepareStatement("SELECT d.layers FROM backup_disk d JOIN backup b"
                    + " ON b.id = d.backup_id WHERE d.backup_id = ? AND d.disk_id = ? AND b.state = 'complete'")) {
                ps.setLong(1, backupId);
                ps.setLong(2, diskId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
                }
            }
        });
    }

    /**
     * The streams of one version as it was cataloged, by name: size, blocks (with their MD5 and size),
     * runs and initialized size (-1 when the version predates schema 3). For the engine's change tracking,
     * with a {@link LiveVersion#versionId()}.
     */
    public Map<String, StreamRecord> streamsOf(long versionId) throws CatalogException {
        return read("streams of version " + versionId, con -> {
            Map<String, StreamRecord> out = new LinkedHashMap<>();
            try (PreparedStatement ps = con.prepareStatement(
                    "SELECT name, size, blocks, runs, initialized FROM stream WHERE version_id = ?")) {
                ps.setLong(1, versionId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String where = "stream '" + rs.getString(1) + "' of version " + versionId;
                        long init = rs.getLong(5);
                        if (rs.wasNull()) {
                            init = -1;
                        }
                        out.put(rs.getString(1), new StreamRecord(rs.getString(1), rs.getLong(2),
                                blockRefs(con, rs.getBytes(3), where), Blobs.decodeRuns(rs.getBytes(4), where), init));
                    }
                }
            }
            return out;
        });
    }

    /**
     * Records a non-file region of a disk in a running backup (a raw partition, a gap); its blocks are
     * upserted like file blocks. Returns the region id.
     */
    public long recordRegion(long backupId, long diskId, long offsetBytes, long lengthBytes, String kind,
            List<BlockRef> blocks) throws CatalogException {
        require(kind != null && offsetBytes >= 0 && lengthBytes >= 0, "region fields");
        byte[] blob = Blobs.encodeBlocks(blocks);
        return write("record region of backup " + backupId, con -> {
            requireState(con, backupId, BackupState.RUNNING);
            try (PreparedStatement up = con.prepareStatement(BLOCK_UPSERT)) {
                for (BlockRef r : blocks) {
                    bindBlockUpsert(up, r.block(), backupId);
                    up.addBatch();
                }
                up.executeBatch();
            }
            try (PreparedStatement ps = con.prepareStatement("INSERT INTO region(backup_id, disk_id, offset_bytes,"
                    + " length_bytes, kind, blocks) VALUES(?,?,?,?,?,?)")) {
                ps.setLong(1, backupId);
                ps.setLong(2, diskId);
                ps.setLong(3, offsetBytes);
                ps.setLong(4, lengthBytes);
                ps.setString(5, kind);
                ps.setBytes(6, blob);
                ps.executeUpdate();
            }
            return queryLong(con, "SELECT last_insert_rowid()");
        });
    }

    /** The regions a backup recorded for a disk, by offset. */
    public List<Region> regions(long backupId, long diskId) throws CatalogException {
        return read("regions of backup " + backupId, con -> {
            List<Region> out = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement("SELECT id, disk_id, offset_bytes, length_bytes, kind,"
                    + " blocks FROM region WHERE backup_id = ? AND disk_id = ? ORDER BY offset_bytes")) {
                ps.setLong(1, backupId);
                ps.setLong(2, diskId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long id = rs.getLong(1);
                        out.add(new Region(id, rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getString(5),
                                blockRefs(con, rs.getBytes(6), "region " + id)));
                    }
                }
            }
            return out;
        });
    }

    /**
     * Opens a batched ingest of one volume's files into a running backup. Call {@link FileIngest#add} for
     * every new or changed file, {@link FileIngest#carry} for every unchanged one (no row is written), and
     * {@link FileIngest#finish} once: it closes every previously live version that was neither carried nor
     * re-added (changed or deleted).
     */
    public FileIngest ingest(long backupId, long volumeId) throws CatalogException {
        write("start ingest", con -> {
            requireState(con, backupId, BackupState.RUNNING);
            long vm = vmOfVolume(con, volumeId);
            long bvm = queryLong(con, "SELECT vm_id FROM backup WHERE id = ?", backupId);
            if (vm != bvm) {
                throw new CatalogException(file + ": volume " + volumeId + " belongs to vm " + vm + ", backup "
                        + backupId + " to vm " + bvm);
            }
            if (queryOptionalLong(con, "SELECT 1 FROM backup_volume WHERE backup_id = ? AND volume_id = ?",
                    backupId, volumeId).isPresent()) {
                throw new CatalogException(file + ": volume " + volumeId + " was already ingested in backup " + backupId);
            }
            return null;
        });
        return new FileIngest(this, backupId, volumeId, options.batchFiles());
    }

    /**
     * Streams the versions live in complete backup {@code asOfBackup} on a volume (the engine's "previous
     * backup"), in version-id order, without holding the writer. About 1 µs per row.
     */
    public void forEachLiveVersion(long volumeId, long asOfBackup, Consumer<LiveVersion> sink) throws CatalogException {
        read("live versions of volume " + volumeId, con -> {
            requireQueryable(con, asOfBackup, volumeId);
            try (PreparedStatement ps = con.prepareStatement("SELECT v.id, d.path, n.name, v.mft_record,"
                    + " v.mft_sequence, v.size, v.fingerprint" + ENTRY_FROM
                    + " WHERE d.volume_id = ? AND v.valid_from <= ? AND (v.valid_to IS NULL OR v.valid_to > ?)")) {
                ps.setLong(1, volumeId);
                ps.setLong(2, asOfBackup);
                ps.setLong(3, asOfBackup);
                ps.setFetchSize(4096);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        sink.accept(new LiveVersion(rs.getLong(1), Paths2.join(rs.getString(2), rs.getString(3)),
                                rs.getLong(4), rs.getInt(5), rs.getLong(6), rs.getLong(7)));
                    }
                }
            }
            return null;
        });
    }

    /**
     * Marks a running backup complete in one durable transaction (synchronous=FULL): closes the live
     * versions of the VM's volumes the backup did not ingest, computes its totals and flips its state.
     * Call it only after the destination acknowledged every block the backup references.
     */
    public BackupInfo markComplete(long backupId, Instant ended) throws CatalogException {
        require(ended != null, "end time");
        write("complete backup " + backupId, true, con -> {
            requireState(con, backupId, BackupState.RUNNING);
            long vmId = queryLong(con, "SELECT vm_id FROM backup WHERE id = ?", backupId);
            // A backup is a full restore point: a volume of the VM it did not see is not in it.
            try (PreparedStatement ps = con.prepareStatement("UPDATE version SET valid_to = ?1 WHERE valid_to IS NULL"
                    + " AND valid_from < ?1 AND dir_id IN (SELECT d.id FROM dir d JOIN volume vo ON vo.id = d.volume_id"
                    + " JOIN disk k ON k.id = vo.disk_id WHERE k.vm_id = ?2 AND vo.id NOT IN"
                    + " (SELECT volume_id FROM backup_volume WHERE backup_id = ?1))")) {
                ps.setLong(1, backupId);
                ps.setLong(2, vmId);
                ps.executeUpdate();
            }
            long files = 0;
            long logical = 0;
            try (PreparedStatement ps = con.prepareStatement("SELECT files, logical_bytes FROM backup WHERE vm_id = ?"
                    + " AND id < ? AND state IN ('complete', 'pruned') ORDER BY id DESC LIMIT 1")) {
                ps.setLong(1, vmId);
                ps.setLong(2, backupId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        files = rs.getLong(1);
                        logical = rs.getLong(2);
                    }
                }
            }
            long[] added = sums(con, "SELECT count(*), total(size) FROM version WHERE valid_from = ? AND kind <> 1", backupId);
            long[] gone = sums(con, "SELECT count(*), total(size) FROM version WHERE valid_to = ? AND kind <> 1", backupId);
            long[] fresh = sums(con, "SELECT total(size), total(stored_size) FROM block WHERE first_backup = ?", backupId);
            try (PreparedStatement ps = con.prepareStatement("UPDATE backup SET state = 'complete', ended_ns = ?,"
                    + " files = ?, logical_bytes = ?, new_bytes = ?, stored_bytes = ? WHERE id = ?")) {
                ps.setLong(1, nanos(ended));
                ps.setLong(2, files + added[0] - gone[0]);
                ps.setLong(3, logical + added[1] - gone[1]);
                ps.setLong(4, fresh[0]);
                ps.setLong(5, fresh[1]);
                ps.setLong(6, backupId);
                ps.executeUpdate();
            }
            return null;
        });
        return backup(backupId).orElseThrow();
    }

    /**
     * Marks a running backup failed with a reason and undoes its catalog changes: deletes the versions,
     * streams and regions it added (decrementing block reference counts) and reopens the versions it
     * closed. Blocks it uploaded stay known (so they are not sent again).
     */
    public void markFailed(long backupId, Instant ended, String reason) throws CatalogException {
        require(ended != null && reason != null, "end time and reason");
        write("fail backup " + backupId, con -> {
            requireState(con, backupId, BackupState.RUNNING);
            undo(con, backupId);
            try (PreparedStatement ps = con.prepareStatement(
                    "UPDATE backup SET state = 'failed', ended_ns = ?, error = ? WHERE id = ?")) {
                ps.setLong(1, nanos(ended));
                ps.setString(2, reason);
                ps.setLong(3, backupId);
                ps.executeUpdate();
            }
            return null;
        });
    }

    /** Marks every running backup failed (after an agent restart: whoever ran them is gone); returns how many. */
    public int failInterrupted(Instant now, String reason) throws CatalogException {
        List<Long> running = read("running backups", con -> {
            List<Long> ids = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement("SELECT id FROM backup WHERE state = 'running'");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getLong(1));
                }
            }
            return ids;
        });
        for (long id : running) {
            markFailed(id, now, reason);
        }
        return running.size();
    }

    /**
     * Prunes a complete backup: it is no longer queryable, and the versions (and regions) no remaining
     * complete or running backup needs are deleted, decrementing block reference counts.
     */
    public void prune(long backupId) throws CatalogException {
        write("prune backup " + backupId, con -> {
            requireState(con, backupId, BackupState.COMPLETE);
            long vmId = queryLong(con, "SELECT vm_id FROM backup WHERE id = ?", backupId);
            try (PreparedStatement ps = con.prepareStatement("UPDATE backup SET state = 'pruned' WHERE id = ?")) {
                ps.setLong(1, backupId);
                ps.executeUpdate();
            }
            TreeSet<Long> keep = new TreeSet<>();
            TreeSet<Long> running = new TreeSet<>();
            try (PreparedStatement ps = con.prepareStatement(
                    "SELECT id, state FROM backup WHERE vm_id = ? AND state IN ('complete', 'running')")) {
                ps.setLong(1, vmId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        keep.add(rs.getLong(1));
                        if (rs.getString(2).equals("running")) {
                            running.add(rs.getLong(1));
                        }
                    }
                }
            }
            List<Long> doomed = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement("SELECT v.id, v.valid_from, v.valid_to FROM version v"
                    + " JOIN dir d ON d.id = v.dir_id JOIN volume vo ON vo.id = d.volume_id JOIN disk k ON k.id = vo.disk_id"
                    + " WHERE k.vm_id = ? AND v.valid_to > ? AND v.valid_from <= ?")) {
                ps.setLong(1, vmId);
                ps.setLong(2, backupId);
                ps.setLong(3, backupId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long from = rs.getLong(2);
                        long to = rs.getLong(3);
                        Long next = keep.ceiling(from);
                        // valid_to naming a running backup must survive: failing it reopens the version.
                        if ((next == null || next >= to) && !running.contains(to)) {
                            doomed.add(rs.getLong(1));
                        }
                    }
                }
            }
            deleteVersions(con, doomed, true);
            deleteRegions(con, "SELECT id, blocks FROM region WHERE backup_id = ?", backupId);
            return null;
        });
    }

    /** One backup by id. */
    public Optional<BackupInfo> backup(long backupId) throws CatalogException {
        return read("backup " + backupId, con -> {
            List<BackupInfo> l = backupsWhere(con, "id = ?", backupId);
            return l.isEmpty() ? Optional.empty() : Optional.of(l.get(0));
        });
    }

    /** Every backup of a VM, oldest first, with totals. */
    public List<BackupInfo> backups(long vmId) throws CatalogException {
        return read("backups of vm " + vmId, con -> backupsWhere(con, "vm_id = ?", vmId));
    }

    /** Every backup in the catalog, oldest first, with totals. */
    public List<BackupInfo> backups() throws CatalogException {
        return read("backups", con -> backupsWhere(con, "1 = ?", 1));
    }

    /** The newest complete backup of a VM, if any. */
    public Optional<BackupInfo> latest(long vmId) throws CatalogException {
        return read("latest backup of vm " + vmId, con -> {
            List<BackupInfo> l = backupsWhere(con, "vm_id = ? AND state = 'complete' ORDER BY id DESC LIMIT 1 --", vmId);
            return l.isEmpty() ? Optional.empty() : Optional.of(l.get(0));
        });
    }

    /** The volumes a backup ingested files for, by id. */
    public List<Long> volumesOf(long backupId) throws CatalogException {
        return read("volumes of backup " + backupId, con -> {
            List<Long> out = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement(
                    "SELECT volume_id FROM backup_volume WHERE backup_id = ? ORDER BY volume_id")) {
                ps.setLong(1, backupId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getLong(1));
                    }
                }
            }
            return out;
        });
    }

    // ------------------------------------------------------------------------------------------ blocks

    /** Records blocks before any stream references them (reference count unchanged; idempotent). */
    public void putBlocks(Collection<Block> blocks) throws CatalogException {
        write("put blocks", con -> {
            try (PreparedStatement ps = con.prepareStatement("INSERT INTO block(sha256, md5, size, refs)"
                    + " VALUES(?,?,?,0) ON CONFLICT(sha256) DO NOTHING")) {
                for (Block b : blocks) {
                    ps.setBytes(1, b.sha256());
                    ps.setBytes(2, b.md5());
                    ps.setLong(3, b.sizeBytes());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    /**
     * Records that {@code destination} durably stored these blocks, inserting blocks the catalog does not
     * know yet (reference count 0 until a stream or region lists them). One transaction; the batch is
     * applied in SHA-256 order so each page of the block table is written once.
     */
    public void markStored(String destination, Collection<StoredBlock> stored) throws CatalogException {
        require(destination != null && !destination.isEmpty(), "destination name");
        List<StoredBlock> sorted = new ArrayList<>(stored);
        sorted.sort((a, b) -> Arrays.compareUnsigned(a.block().sha256(), b.block().sha256()));
        write("mark blocks stored at " + destination, con -> {
            long dest = destinationId(con, destination);
            try (PreparedStatement ps = con.prepareStatement("INSERT INTO block(sha256, md5, size, refs, destination_id,"
                    + " stored_size, codec, locator) VALUES(?,?,?,0,?,?,?,?) ON CONFLICT(sha256) DO UPDATE SET"
                    + " destination_id = excluded.destination_id, stored_size = excluded.stored_size,"
                    + " codec = excluded.codec, locator = excluded.locator")) {
                for (StoredBlock s : sorted) {
                    ps.setBytes(1, s.block().sha256());
                    ps.setBytes(2, s.block().md5());
                    ps.setLong(3, s.block().sizeBytes());
                    ps.setLong(4, dest);
                    ps.setLong(5, s.storedSize());
                    ps.setString(6, s.codec());
                    ps.setBytes(7, s.locator());
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    /** Which of these SHA-256 (by index) the catalog knows as stored at {@code destination}. */
    public BitSet knownStored(String destination, List<byte[]> sha256s) throws CatalogException {
        return read("known blocks", con -> {
            BitSet out = new BitSet(sha256s.size());
            OptionalLong dest = queryOptionalLong(con, "SELECT id FROM destination WHERE name = ?", destination);
            if (dest.isEmpty()) {
                return out;
            }
            try (PreparedStatement ps = con.prepareStatement(
                    "SELECT 1 FROM block WHERE sha256 = ? AND destination_id = ?")) {
                for (int i = 0; i < sha256s.size(); i++) {
                    ps.setBytes(1, sha256s.get(i));
                    ps.setLong(2, dest.getAsLong());
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            out.set(i);
                        }
                    }
                }
            }
            return out;
        });
    }

    /** A block's catalog row, if known; {@link FileBlock#stream()} is null and offset 0. */
    public Optional<FileBlock> block(byte[] sha256) throws CatalogException {
        return read("block", con -> Optional.ofNullable(blockRow(con, sha256, null, 0)));
    }

    /** How many block-list entries of live catalog rows reference this block (0 when unknown). */
    public long refCount(byte[] sha256) throws CatalogException {
        return read("block refs", con -> queryOptionalLong(con, "SELECT refs FROM block WHERE sha256 = ?",
                (Object) sha256).orElse(0));
    }

    // ------------------------------------------------------------------------------------------ queries

    /**
     * Lists a directory as of a complete backup, sorted by name (case-insensitively, then exactly), one page
     * of at most {@code limit} entries starting at {@code offset}.
     *
     * @throws NoSuchPathException the backup is not complete, or the directory is not in it
     */
    public Page<Entry> list(long backupId, long volumeId, String dirPath, int offset, int limit) throws CatalogException {
        requirePage(offset, limit);
        return read("list " + dirPath, con -> {
            requireQueryable(con, backupId, volumeId);
            Entry self = statEntry(con, backupId, volumeId, dirPath);
            if (self == null || self.kind() != FileKind.DIRECTORY) {
                throw new NoSuchPathException(file + ": no directory " + dirPath + " on volume " + volumeId
                        + " in backup " + backupId);
            }
            OptionalLong dir = queryOptionalLong(con, "SELECT id FROM dir WHERE volume_id = ? AND path = ?", volumeId,
                    dirPath);
            if (dir.isEmpty()) {
                return new Page<Entry>(List.of(), offset, 0);
            }
            // A page covering most of the directory fetches full rows unsorted in one pass and sorts them here in
            // SQLite's own order (nocaseThenBinary): SQLite's NOCASE sort of ~10,000 joined rows plus a second
            // fetch by id cost 2.5x as much. A small page (or a huge directory) lets SQLite's top-N sorter order
            // narrow (id, name) rows, then fetches the page's rows alone (docs/perf/catalog.md).
            long dirId = dir.getAsLong();
            long total = queryLong(con, "SELECT count(*) FROM version v WHERE v.dir_id = ? AND v.valid_from <= ?"
                    + " AND (v.valid_to IS NULL OR v.valid_to > ?)", dirId, backupId, backupId);
            boolean wide = (long) limit * 2 >= total - offset && total <= listJavaSortMax;
            List<Entry> page;
            String cond = " FROM version v JOIN name n ON n.id = v.name_id"
                    + " WHERE v.dir_id = ? AND v.valid_from <= ? AND (v.valid_to IS NULL OR v.valid_to > ?)";
            try (PreparedStatement ps = con.prepareStatement("SELECT v.id, n.name" + (wide ? ", " + LIST_COLUMNS : "")
                    + cond + (wide ? "" : " ORDER BY n.name COLLATE NOCASE, n.name LIMIT ? OFFSET ?"))) {
                ps.setLong(1, dirId);
                ps.setLong(2, backupId);
                ps.setLong(3, backupId);
                if (!wide) {
                    ps.setInt(4, limit);
                    ps.setInt(5, offset);
                }
                List<Entry> rows = new ArrayList<>((int) Math.min(total, wide ? listJavaSortMax : limit));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String name = rs.getString(2);
                        rows.add(wide ? listEntry(rs, 3, rs.getLong(1), volumeId, dirPath, name)
                                : new Entry(rs.getLong(1), volumeId, null, name, null, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
                    }
                }
                if (wide) {
                    rows.sort((a, b) -> nocaseThenBinary(a.name(), b.name()));
                    page = rows.subList(Math.min(offset, rows.size()), (int) Math.min(rows.size(), (long) offset + limit));
                } else {
                    page = rows;
                }
            }
            if (wide) {
                return new Page<>(new ArrayList<>(page), offset, total);
            }
            Map<Long, Entry> byId = new HashMap<>();
            StringBuilder json = new StringBuilder("[");
            for (Entry e : page) {
                json.append(json.length() == 1 ? "" : ",").append(e.versionId());
            }
            json.append(']');
            try (PreparedStatement ps = con.prepareStatement("SELECT v.id, " + LIST_COLUMNS + " FROM version v"
                    + " WHERE v.id IN (SELECT value FROM json_each(?))")) {
                ps.setString(1, json.toString());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        byId.put(rs.getLong(1), listEntry(rs, 2, rs.getLong(1), volumeId, dirPath, null));
                    }
                }
            }
            List<Entry> items = new ArrayList<>(page.size());
            for (Entry stub : page) {
                Entry e = byId.get(stub.versionId());
                items.add(new Entry(e.versionId(), volumeId, Paths2.join(dirPath, stub.name()), stub.name(), e.kind(),
                        e.size(), e.mftRecord(), e.mftSequence(), e.parentRecord(), e.createdNanos(), e.modifiedNanos(),
                        e.mftChangedNanos(), e.accessedNanos(), e.attributes(), e.fingerprint(), e.validFrom(),
                        e.validTo()));
            }
            return new Page<>(items, offset, total);
        });
    }

    /**
     * Largest directory {@link #list} sorts in the heap: 200,000 entries (~40 MiB of narrow rows); a larger one
     * is sorted by SQLite (top-N of the page), slower but bounded.
     */
    static final int LIST_JAVA_SORT_MAX = 200_000;
    /** {@link #LIST_JAVA_SORT_MAX}; tests lower it to exercise the SQLite-sorted path. */
    volatile int listJavaSortMax = LIST_JAVA_SORT_MAX;

    /** The version columns {@link #listEntry} reads, in order. */
    private static final String LIST_COLUMNS = "v.kind, v.size, v.mft_record, v.mft_sequence, v.parent_record,"
            + " v.created_ns, v.modified_ns, v.changed_ns, v.accessed_ns, v.attributes, v.fingerprint, v.valid_from,"
            + " v.valid_to";

    /** An entry from {@link #LIST_COLUMNS} starting at column {@code at}; path null when {@code name} is. */
    private static Entry listEntry(ResultSet rs, int at, long id, long volumeId, String dirPath, String name)
            throws SQLException {
        return new Entry(id, volumeId, name == null ? null : Paths2.join(dirPath, name), name,
                FileKind.ofCode(rs.getInt(at)), rs.getLong(at + 1), rs.getLong(at + 2), rs.getInt(at + 3),
                rs.getLong(at + 4), rs.getLong(at + 5), rs.getLong(at + 6), rs.getLong(at + 7), rs.getLong(at + 8),
                rs.getInt(at + 9), rs.getLong(at + 10), rs.getLong(at + 11), rs.getLong(at + 12));
    }

    /**
     * SQLite's {@code ORDER BY x COLLATE NOCASE, x}: code points compared with ASCII letters folded (NOCASE folds
     * ASCII only), then code point order (= UTF-8 byte order, BINARY); a prefix sorts first.
     */
    static int nocaseThenBinary(String a, String b) {
        int c = compareCodePoints(a, b, true);
        return c != 0 ? c : compareCodePoints(a, b, false);
    }

    private static int compareCodePoints(String a, String b, boolean foldAscii) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int x = a.codePointAt(i);
            int y = b.codePointAt(j);
            if (foldAscii) {
                x = x >= 'A' && x <= 'Z' ? x + ('a' - 'A') : x;
                y = y >= 'A' && y <= 'Z' ? y + ('a' - 'A') : y;
            }
            if (x != y) {
                return Integer.compare(x, y);
            }
            i += Character.charCount(x);
            j += Character.charCount(y);
        }
        if (i == a.length()) {
            return j == b.length() ? 0 : -1;
        }
        return 1;
    }

    /** A path's entry and streams as of a complete backup, or empty when the path is not in it. */
    public Optional<Stat> stat(long backupId, long volumeId, String path) throws CatalogException {
        return read("stat " + path, con -> {
            requireQueryable(con, backupId, volumeId);
            Entry e = statEntry(con, backupId, volumeId, path);
            if (e == null) {
                return Optional.empty();
            }
            List<StreamInfo> streams = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement(
                    "SELECT name, size, blocks, runs FROM stream WHERE version_id = ? ORDER BY name")) {
                ps.setLong(1, e.versionId());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String where = "stream '" + rs.getString(1) + "' of version " + e.versionId();
                        streams.add(new StreamInfo(rs.getString(1), rs.getLong(2),
                                Blobs.blockCount(rs.getBytes(3), where), Blobs.decodeRuns(rs.getBytes(4), where)));
                    }
                }
            }
            return Optional.of(new Stat(e, streams));
        });
    }

    /** Every version a path had on a volume that some complete backup shows, oldest first, each with those backups. */
    public List<VersionSpan> history(long volumeId, String path) throws CatalogException {
        String[] dn = splitPath(path);
        return read("history " + path, con -> {
            long vmId = vmOfVolume(con, volumeId);
            TreeSet<Long> complete = completeBackups(con, vmId);
            List<VersionSpan> out = new ArrayList<>();
            try (PreparedStatement ps = con.prepareStatement("SELECT " + ENTRY_COLUMNS + ENTRY_FROM
                    + " WHERE d.volume_id = ? AND d.path = ? AND n.name = ? ORDER BY v.valid_from")) {
                ps.setLong(1, volumeId);
                ps.setString(2, dn[0]);
                ps.setString(3, dn[1]);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Entry e = entry(rs);
                        List<Long> in = within(complete, e.validFrom(), e.validTo());
                        if (!in.isEmpty()) {
                            out.add(new VersionSpan(e, in));
                        }
                    }
                }
            }
            return out;
        });
    }

    /**
     * Finds entries whose name matches a glob (SQLite GLOB: {@code *}, {@code ?}, {@code [...]},
     * case-sensitive), in one complete backup or, when {@code backupId} is empty, across all complete
     * backups; at most {@code limit} results sorted by volume and path, each with the backups showing it.
     */
    public List<VersionSpan> findGlob(String glob, OptionalLong backupId, int limit) throws CatalogException {
        require(glob != null && !glob.isEmpty(), "glob");
        return find("n.name GLOB ?", glob, backupId, limit);
    }

    /**
     * Like {@link #findGlob} with a Java regular expression that must match somewhere in the name (anchor it
     * with ^…$ for a whole-name match; {@code (?i)} for case-insensitive).
     */
    public List<VersionSpan> findRegex(String regex, OptionalLong backupId, int limit) throws CatalogException {
        require(regex != null && !regex.isEmpty(), "regex");
        try {
            Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new CatalogException(file + ": bad regular expression at index " + e.getIndex() + ": "
                    + e.getDescription());
        }
        return find("n.name REGEXP ?", regex, backupId, limit);
    }

    private List<VersionSpan> find(String predicate, String pattern, OptionalLong backupId, int limit)
            throws CatalogException {
        requirePage(0, limit);
        return read("find " + pattern, con -> {
            String where = " WHERE " + predicate;
            if (backupId.isPresent()) {
                long b = backupId.getAsLong();
                requireState(con, b, BackupState.COMPLETE);
                where += " AND v.valid_from <= " + b + " AND (v.valid_to IS NULL OR v.valid_to > " + b + ")";
            }
            Map<Long, TreeSet<Long>> completeByVm = new HashMap<>();
            List<VersionSpan> out = new ArrayList<>();
            // name first: the planner scans the narrow name table, then version_name finds the rows.
            try (PreparedStatement ps = con.prepareStatement("SELECT " + ENTRY_COLUMNS
                    + " FROM name n CROSS JOIN version v ON v.name_id = n.id JOIN dir d ON d.id = v.dir_id" + where
                    + " ORDER BY d.volume_id, d.path, n.name, v.valid_from")) {
                ps.setString(1, pattern);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next() && out.size() < limit) {
                        Entry e = entry(rs);
                        long vmId = vmOfVolume(con, e.volumeId());
                        TreeSet<Long> complete = completeByVm.get(vmId);
                        if (complete == null) {
                            complete = completeBackups(con, vmId);
                            completeByVm.put(vmId, complete);
                        }
                        if (backupId.isPresent()) {
                            if (vmId == queryLong(con, "SELECT vm_id FROM backup WHERE id = ?", backupId.getAsLong())) {
                                out.add(new VersionSpan(e, List.of(backupId.getAsLong())));
                            }
                        } else {
                            List<Long> in = within(complete, e.validFrom(), e.validTo());
                            if (!in.isEmpty()) {
                                out.add(new VersionSpan(e, in));
                            }
                        }
                    }
                }
            }
            return out;
        });
    }

    /**
     * The differences from complete backup {@code before} to complete backup {@code after} of the same VM,
     * sorted by volume and path.
     */
    public List<DiffEntry> diff(long before, long after) throws CatalogException {
        return read("diff " + before + " " + after, con -> {
            requireState(con, before, BackupState.COMPLETE);
            requireState(con, after, BackupState.COMPLETE);
            long vmA = queryLong(con, "SELECT vm_id FROM backup WHERE id = ?", before);
            long vmB = queryLong(con, "SELECT vm_id FROM backup WHERE id = ?", after);
            if (vmA != vmB) {
                throw new CatalogException(file + ": backups " + before + " and " + after + " are of different vms ("
                        + vmA + ", " + vmB + ")");
            }
            long lo = Math.min(before, after);
            long hi = Math.max(before, after);
            // Visible at lo but not at hi: closed in (lo, hi]. Visible at hi but not at lo: opened in (lo, hi].
            Map<String, long[]> loOnly = diffSide(con, vmA, "v.valid_to > ?2 AND v.valid_to <= ?3 AND v.valid_from <= ?2",
                    lo, hi);
            Map<String, long[]> hiOnly = diffSide(con, vmA, "v.valid_from > ?2 AND v.valid_from <= ?3"
                    + " AND (v.valid_to IS NULL OR v.valid_to > ?3)", lo, hi);
            Map<String, long[]> beforeOnly = before == lo ? loOnly : hiOnly;
            Map<String, long[]> afterOnly = before == lo ? hiOnly : loOnly;
            java.util.TreeMap<String, DiffEntry> out = new java.util.TreeMap<>();
            for (Map.Entry<String, long[]> e : beforeOnly.entrySet()) {
                long[] a = afterOnly.get(e.getKey());
                long vol = e.getValue()[0];
                String path = e.getKey().substring(e.getKey().indexOf(':') + 1);
                out.put(e.getKey(), a == null
                        ? new DiffEntry(vol, path, DiffEntry.Change.REMOVED, e.getValue()[1], 0)
                        : new DiffEntry(vol, path, DiffEntry.Change.CHANGED, e.getValue()[1], a[1]));
            }
            for (Map.Entry<String, long[]> e : afterOnly.entrySet()) {
                if (!beforeOnly.containsKey(e.getKey())) {
                    String path = e.getKey().substring(e.getKey().indexOf(':') + 1);
                    out.put(e.getKey(), new DiffEntry(e.getValue()[0], path, DiffEntry.Change.ADDED, 0, e.getValue()[1]));
                }
            }
            return new ArrayList<>(out.values());
        });
    }

    private static Map<String, long[]> diffSide(Connection con, long vmId, String cond, long lo, long hi)
            throws SQLException {
        Map<String, long[]> out = new HashMap<>();
        // version first (CROSS JOIN fixes the order) so the valid_from / valid_to indexes drive the scan
        try (PreparedStatement ps = con.prepareStatement("SELECT d.volume_id, d.path, n.name, v.size"
                + " FROM version v CROSS JOIN dir d ON d.id = v.dir_id JOIN name n ON n.id = v.name_id"
                + " WHERE d.volume_id IN (SELECT vo.id FROM volume vo JOIN disk k ON k.id = vo.disk_id WHERE k.vm_id = ?1)"
                + " AND " + cond)) {
            ps.setLong(1, vmId);
            ps.setLong(2, lo);
            ps.setLong(3, hi);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long vol = rs.getLong(1);
                    // key sorts by volume (zero-padded) then path
                    out.put(String.format("%019d:", vol) + Paths2.join(rs.getString(2), rs.getString(3)),
                            new long[] {vol, rs.getLong(4)});
                }
            }
        }
        return out;
    }

    /** The blocks of one stream ("" = unnamed data) of a file as of a complete backup, in stream order. */
    public List<FileBlock> blocks(long backupId, long volumeId, String path, String stream) throws CatalogException {
        return read("blocks of " + path, con -> {
            requireQueryable(con, backupId, volumeId);
            Entry e = statEntry(con, backupId, volumeId, path);
            if (e == null) {
                throw new NoSuchPathException(file + ": no " + path + " on volume " + volumeId + " in backup " + backupId);
            }
            byte[] blob;
            try (PreparedStatement ps = con.prepareStatement(
                    "SELECT blocks FROM stream WHERE version_id = ? AND name = ?")) {
                ps.setLong(1, e.versionId());
                ps.setString(2, stream);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new NoSuchPathException(file + ": " + path + " has no stream '" + stream + "' in backup "
                                + backupId);
                    }
                    blob = rs.getBytes(1);
                }
            }
            String where = "stream '" + stream + "' of version " + e.versionId();
            int n = Blobs.blockCount(blob, where);
            List<FileBlock> out = new ArrayList<>(n);
            try (PreparedStatement ps = con.prepareStatement(BLOCK_ROW)) {
                for (int i = 0; i < n; i++) {
                    FileBlock fb = blockRow(ps, Blobs.blockSha(blob, i), stream, Blobs.blockOffset(blob, i));
                    if (fb == null) {
                        throw new CorruptCatalogException(file + ": " + where + " entry " + i + " names block "
                                + hex(Blobs.blockSha(blob, i)) + " that is not in the block table");
                    }
                    out.add(fb);
                }
            }
            return out;
        });
    }

    /** Files {@link #forEachFileUnder} resolves together (entries, streams and blocks: 3+ queries per chunk). */
    static final int TREE_CHUNK_FILES = 1000;
    /** Block hashes looked up in one query by {@link #forEachFileUnder}: 4096 (~270 KiB of JSON hex). */
    static final int TREE_CHUNK_BLOCKS = 4096;

    /**
     * Streams every non-directory version under {@code dirPath} (recursively; {@code dirPath} itself if it is
     * a file) in complete backup {@code backupId}, in path order (full paths compared as UTF-8 bytes), each
     * with all its streams and every stream's blocks in order: the selection of a tree restore. Runs a bounded
     * number of queries per {@value #TREE_CHUNK_FILES} files (not one per file) in one read transaction, and
     * holds at most one chunk in memory; {@code sink} runs on the calling thread inside that transaction.
     *
     * @throws NoSuchPathException the backup is not complete, the volume not its VM's, or {@code dirPath} is
     *     not in the backup
     * @throws CorruptCatalogException a block list or run list does not decode, or names an unknown block
     */
    public void forEachFileUnder(long backupId, long volumeId, String dirPath, Consumer<TreeFile> sink)
            throws CatalogException {
        require(sink != null, "sink");
        read("files under " + dirPath, con -> {
            requireQueryable(con, backupId, volumeId);
            Entry self = statEntry(con, backupId, volumeId, dirPath);
            if (self == null) {
                throw new NoSuchPathException(file + ": no " + dirPath + " on volume " + volumeId + " in backup "
                        + backupId);
            }
            if (self.kind() != FileKind.DIRECTORY) {
                emitTree(con, List.of(self), sink);
                return null;
            }
            // The subtree's dir rows: dirPath itself (its children) and every dir path below "dirPath/"; the
            // range [prefix, prefix with '/' bumped to '0') is an index range on dir (volume_id, path).
            String prefix = dirPath.equals("/") ? "/" : dirPath + "/";
            String end = prefix.substring(0, prefix.length() - 1) + "0";
            // Sort narrow (id, key) rows; full rows are fetched a chunk at a time below.
            try (PreparedStatement ps = con.prepareStatement("SELECT v.id, d.path, n.name FROM dir d"
                    + " JOIN version v ON v.dir_id = d.id JOIN name n ON n.id = v.name_id"
                    + " WHERE d.volume_id = ?1 AND (d.path = ?2 OR (d.path >= ?3 AND d.path < ?4))"
                    + " AND v.valid_from <= ?5 AND (v.valid_to IS NULL OR v.valid_to > ?5) AND v.kind <> 1"
                    + " ORDER BY CASE d.path WHEN '/' THEN '' ELSE d.path END || '/' || n.name")) {
                ps.setLong(1, volumeId);
                ps.setString(2, dirPath);
                ps.setString(3, prefix);
                ps.setString(4, end);
                ps.setLong(5, backupId);
                ps.setFetchSize(TREE_CHUNK_FILES);
                List<Entry> chunk = new ArrayList<>(TREE_CHUNK_FILES);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String name = rs.getString(3);
                        // only id, path and name are known yet; emitTree fills in the rest
                        chunk.add(new Entry(rs.getLong(1), volumeId, Paths2.join(rs.getString(2), name), name, null,
                                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
                        if (chunk.size() == TREE_CHUNK_FILES) {
                            emitTree(con, chunk, sink);
                            chunk.clear();
                        }
                    }
                }
                emitTree(con, chunk, sink);
            }
            return null;
        });
    }

    /** Resolves one chunk of {@link #forEachFileUnder} (entries by id, their streams, their blocks) and emits it in order. */
    private void emitTree(Connection con, List<Entry> chunk, Consumer<TreeFile> sink) throws SQLException,
            CatalogException {
        if (chunk.isEmpty()) {
            return;
        }
        StringBuilder ids = new StringBuilder("[");
        for (Entry e : chunk) {
            ids.append(ids.length() == 1 ? "" : ",").append(e.versionId());
        }
        ids.append(']');
        Map<Long, Entry> byId = new HashMap<>();
        try (PreparedStatement ps = con.prepareStatement("SELECT v.id, v.kind, v.size, v.mft_record, v.mft_sequence,"
                + " v.parent_record, v.created_ns, v.modified_ns, v.changed_ns, v.accessed_ns, v.attributes,"
                + " v.fingerprint, v.valid_from, v.valid_to FROM version v WHERE v.id IN (SELECT value FROM json_each(?))")) {
            ps.setString(1, ids.toString());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    byId.put(rs.getLong(1), new Entry(rs.getLong(1), 0, null, null, FileKind.ofCode(rs.getInt(2)),
                            rs.getLong(3), rs.getLong(4), rs.getInt(5), rs.getLong(6), rs.getLong(7), rs.getLong(8),
                            rs.getLong(9), rs.getLong(10), rs.getInt(11), rs.getLong(12), rs.getLong(13),
                            rs.getLong(14)));
                }
            }
        }
        // streams of the chunk, each version's sorted by name; raw blobs decoded once the blocks are known
        Map<Long, List<Object[]>> streams = new HashMap<>();
        Map<String, FileBlock> blocks = new HashMap<>();
        List<String> wanted = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement("SELECT version_id, name, size, blocks, runs FROM stream"
                + " WHERE version_id IN (SELECT value FROM json_each(?)) ORDER BY version_id, name")) {
            ps.setString(1, ids.toString());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long vid = rs.getLong(1);
                    String name = rs.getString(2);
                    String where = "stream '" + name + "' of version " + vid;
                    byte[] blob = rs.getBytes(4);
                    int n = Blobs.blockCount(blob, file + ": " + where);
                    StreamInfo info = new StreamInfo(name, rs.getLong(3), n, Blobs.decodeRuns(rs.getBytes(5), where));
                    streams.computeIfAbsent(vid, k -> new ArrayList<>()).add(new Object[] {info, blob});
                    for (int i = 0; i < n; i++) {
                        String key = hex(Blobs.blockSha(blob, i));
                        if (blocks.putIfAbsent(key, PENDING_BLOCK) == null) {
                            wanted.add(key);
                            if (wanted.size() == TREE_CHUNK_BLOCKS) {
                                lookupBlocks(con, wanted, blocks);
                            }
                        }
                    }
                }
            }
        }
        lookupBlocks(con, wanted, blocks);
        for (Entry stub : chunk) {
            Entry e = byId.get(stub.versionId());
            if (e == null) {
                throw new CorruptCatalogException(file + ": version " + stub.versionId() + " of " + stub.path()
                        + " vanished inside one read transaction");
            }
            Entry full = new Entry(e.versionId(), stub.volumeId(), stub.path(), stub.name(), e.kind(), e.size(),
                    e.mftRecord(), e.mftSequence(), e.parentRecord(), e.createdNanos(), e.modifiedNanos(),
                    e.mftChangedNanos(), e.accessedNanos(), e.attributes(), e.fingerprint(), e.validFrom(), e.validTo());
            List<TreeStream> out = new ArrayList<>();
            for (Object[] s : streams.getOrDefault(e.versionId(), List.of())) {
                StreamInfo info = (StreamInfo) s[0];
                byte[] blob = (byte[]) s[1];
                List<FileBlock> fbs = new ArrayList<>(info.blockCount());
                for (int i = 0; i < info.blockCount(); i++) {
                    byte[] sha = Blobs.blockSha(blob, i);
                    FileBlock b = blocks.get(hex(sha));
                    if (b == null || b == PENDING_BLOCK) {
                        throw new CorruptCatalogException(file + ": stream '" + info.name() + "' of version "
                                + e.versionId() + " entry " + i + " names block " + hex(sha)
                                + " that is not in the block table");
                    }
                    fbs.add(new FileBlock(info.name(), Blobs.blockOffset(blob, i), sha, b.md5(), b.sizeBytes(),
                            b.storedSize(), b.codec()));
                }
                out.add(new TreeStream(info, fbs));
            }
            sink.accept(new TreeFile(full, out));
        }
    }

    /** Placeholder in {@link #emitTree}'s block map for a hash asked for but not (yet) found. */
    private static final FileBlock PENDING_BLOCK = new FileBlock(null, 0, null, null, 0, 0, null);

    /** Looks up the blocks whose hex SHA-256 are in {@code wanted} (then cleared) into {@code found}, one query. */
    private static void lookupBlocks(Connection con, List<String> wanted, Map<String, FileBlock> found)
            throws SQLException {
        if (wanted.isEmpty()) {
            return;
        }
        StringBuilder json = new StringBuilder(wanted.size() * 67 + 2).append('[');
        for (String h : wanted) {
            json.append(json.length() == 1 ? "\"" : ",\"").append(h).append('"');
        }
        json.append(']');
        wanted.clear();
        try (PreparedStatement ps = con.prepareStatement("SELECT sha256, md5, size, stored_size, codec FROM block"
                + " WHERE sha256 IN (SELECT unhex(value) FROM json_each(?))")) {
            ps.setString(1, json.toString());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    byte[] sha = rs.getBytes(1);
                    long stored = rs.getLong(4);
                    if (rs.wasNull()) {
                        stored = -1;
                    }
                    found.put(hex(sha), new FileBlock(null, 0, sha, rs.getBytes(2), rs.getLong(3), stored,
                            rs.getString(5)));
                }
            }
        }
    }

    /**
     * Where complete backups reference a block: every (backup, file stream) and (backup, region). Scans the
     * stream table (about a second per million streams): an operator's question, not a hot path.
     */
    public List<BlockUse> backupsReferencing(byte[] sha256) throws CatalogException {
        require(sha256 != null && sha256.length == 32, "sha256 of 32 bytes");
        return read("uses of block " + hex(sha256), con -> {
            List<BlockUse> out = new ArrayList<>();
            Map<Long, TreeSet<Long>> completeByVm = new HashMap<>();
            try (PreparedStatement ps = con.prepareStatement("SELECT s.version_id, s.name, s.blocks FROM stream s"
                    + " WHERE instr(s.blocks, ?) > 0")) {
                ps.setBytes(1, sha256);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        if (!listContains(rs.getBytes(3), sha256, "stream of version " + rs.getLong(1))) {
                            continue;
                        }
                        try (PreparedStatement q = con.prepareStatement("SELECT " + ENTRY_COLUMNS + ENTRY_FROM
                                + " WHERE v.id = ?")) {
                            q.setLong(1, rs.getLong(1));
                            try (ResultSet r2 = q.executeQuery()) {
                                if (r2.next()) {
                                    Entry e = entry(r2);
                                    long vmId = vmOfVolume(con, e.volumeId());
                                    TreeSet<Long> complete = completeByVm.get(vmId);
                                    if (complete == null) {
                                        complete = completeBackups(con, vmId);
                                        completeByVm.put(vmId, complete);
                                    }
                                    for (long b : within(complete, e.validFrom(), e.validTo())) {
                                        out.add(new BlockUse(b, e.volumeId(), e.path(), rs.getString(2), 0));
                                    }
                                }
                            }
                        }
                    }
                }
            }
            try (PreparedStatement ps = con.prepareStatement("SELECT r.id, r.backup_id, r.blocks FROM region r"
                    + " JOIN backup b ON b.id = r.backup_id WHERE b.state = 'complete' AND instr(r.blocks, ?) > 0")) {
                ps.setBytes(1, sha256);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        if (listContains(rs.getBytes(3), sha256, "region " + rs.getLong(1))) {
                            out.add(new BlockUse(rs.getLong(2), 0, null, null, rs.getLong(1)));
                        }
                    }
                }
            }
            out.sort(java.util.Comparator.comparingLong(BlockUse::backupId).thenComparingLong(BlockUse::regionId)
                    .thenComparing(u -> u.path() == null ? "" : u.path()));
            return out;
        });
    }

    /**
     * Streams, in ascending byte order and each once, the SHA-256 of every block referenced by the given
     * complete backups (or by all complete backups when {@code backupIds} is empty): the manifest a
     * destination's garbage collection keeps. A running backup may be named explicitly once all its ingests
     * have finished: the engine commits its manifest at the destination before {@link #markComplete}.
     */
    public void forEachReferencedBlock(Collection<Long> backupIds, Consumer<byte[]> sink) throws CatalogException {
        forEachReferencedBlock(backupIds, sink, IN_MEMORY_REFS);
    }

    /** As above, sorting in memory up to {@code inMemory} references (package-private for the tests of the spill). */
    void forEachReferencedBlock(Collection<Long> backupIds, Consumer<byte[]> sink, int inMemory) throws CatalogException {
        read("referenced blocks", con -> {
            TreeSet<Long> wanted = new TreeSet<>();
            Map<Long, Long> vmOf = new HashMap<>();
            try (PreparedStatement ps = con.prepareStatement("SELECT id, vm_id, state FROM backup"
                    + " WHERE state IN ('complete', 'running')");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    boolean complete = "complete".equals(rs.getString(3));
                    if (backupIds.isEmpty() ? complete : backupIds.contains(rs.getLong(1))) {
                        wanted.add(rs.getLong(1));
                        vmOf.put(rs.getLong(1), rs.getLong(2));
                    }
                }
            }
            for (long b : backupIds) {
                if (!wanted.contains(b)) {
                    throw new NoSuchPathException(file + ": backup " + b + " is neither complete nor running");
                }
            }
            try (RefSet refs = new RefSet(con, inMemory)) {
                for (long vmId : new TreeSet<>(vmOf.values())) {
                    TreeSet<Long> mine = new TreeSet<>();
                    for (long b : wanted) {
                        if (vmOf.get(b) == vmId) {
                            mine.add(b);
                        }
                    }
                    try (PreparedStatement ps = con.prepareStatement("SELECT v.valid_from, v.valid_to, s.blocks, v.id"
                            + " FROM disk k JOIN volume vo ON vo.disk_id = k.id JOIN dir d ON d.volume_id = vo.id"
                            + " JOIN version v ON v.dir_id = d.id JOIN stream s ON s.version_id = v.id WHERE k.vm_id = ?")) {
                        ps.setLong(1, vmId);
                        try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                                long from = rs.getLong(1);
                                long to = rs.getLong(2) == 0 ? Long.MAX_VALUE : rs.getLong(2);
                                Long b = mine.ceiling(from);
                                if (b != null && b < to) {
                                    refs.addAll(rs.getBytes(3), "stream of version " + rs.getLong(4));
                                }
                            }
                        }
                    }
                }
                try (PreparedStatement ps = con.prepareStatement("SELECT id, backup_id, blocks FROM region");
                        ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        if (wanted.contains(rs.getLong(2))) {
                            refs.addAll(rs.getBytes(3), "region " + rs.getLong(1));
                        }
                    }
                }
                refs.forEachSorted(sink);
            }
            return null;
        });
    }

    /** References held in memory before they go to a temporary table: 1 Mi, ~56 MiB of heap. */
    static final int IN_MEMORY_REFS = 1 << 20;

    /**
     * The distinct SHA-256s of a set of block lists, in ascending byte order. Up to a limit they are
     * sorted in memory: a backup of 20,000 small files listed its ~21,000 references in ~0.13 s through
     * the temporary table, most of it sqlite-jdbc's cost per inserted row. Past the limit everything
     * goes to {@code temp.ref_sha}, whose size SQLite bounds by spilling to disk.
     */
    private static final class RefSet implements AutoCloseable {
        private final Connection con;
        private final int inMemory;
        private List<byte[]> held = new ArrayList<>();
        private PreparedStatement ins;
        private final int[] pending = {0};

        RefSet(Connection con, int inMemory) {
            this.con = con;
            this.inMemory = inMemory;
        }

        void addAll(byte[] blob, String where) throws SQLException, CorruptCatalogException {
            int n = Blobs.blockCount(blob, where);
            if (held != null && held.size() + n <= inMemory) {
                for (int i = 0; i < n; i++) {
                    held.add(Blobs.blockSha(blob, i));
                }
                return;
            }
            if (held != null) {
                spill();
            }
            insertShas(ins, blob, where, pending);
        }

        private void spill() throws SQLException {
            try (Statement st = con.createStatement()) {
                st.execute("CREATE TEMP TABLE IF NOT EXISTS ref_sha(sha BLOB PRIMARY KEY) WITHOUT ROWID");
                st.execute("DELETE FROM temp.ref_sha");
            }
            ins = con.prepareStatement("INSERT OR IGNORE INTO temp.ref_sha(sha) VALUES(?)");
            for (byte[] sha : held) {
                ins.setBytes(1, sha);
                ins.addBatch();
                if (++pending[0] >= SHA_BATCH) {
                    ins.executeBatch();
                    pending[0] = 0;
                }
            }
            held = null;
        }

        void forEachSorted(Consumer<byte[]> sink) throws SQLException {
            if (held != null) {
                // SQLite orders BLOBs by memcmp: unsigned bytes, as compareUnsigned
                held.sort(Arrays::compareUnsigned);
                byte[] last = null;
                for (byte[] sha : held) {
                    if (last == null || !Arrays.equals(last, sha)) {
                        sink.accept(sha);
                    }
                    last = sha;
                }
                return;
            }
            ins.executeBatch();
            try (PreparedStatement ps = con.prepareStatement("SELECT sha FROM temp.ref_sha ORDER BY sha");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    sink.accept(rs.getBytes(1));
                }
            }
        }

        @Override
        public void close() throws SQLException {
            if (ins != null) {
                ins.close();
                try (Statement st = con.createStatement()) {
                    st.execute("DELETE FROM temp.ref_sha");
                }
            }
        }
    }

    /**
     * Adds a blob's hashes to {@code ins}'s batch and runs the batch once it holds {@link #SHA_BATCH} rows
     * ({@code pending} counts them; the caller runs the rest). One batch per stream cost ~0.3 s per
     * 20,000 small files: sqlite-jdbc's overhead per batch, not the rows, dominated.
     */
    private static void insertShas(PreparedStatement ins, byte[] blob, String where, int[] pending) throws SQLException,
            CorruptCatalogException {
        int n = Blobs.blockCount(blob, where);
        for (int i = 0; i < n; i++) {
            ins.setBytes(1, Blobs.blockSha(blob, i));
            ins.addBatch();
            if (++pending[0] >= SHA_BATCH) {
                ins.executeBatch();
                pending[0] = 0;
            }
        }
    }

    private static final int SHA_BATCH = 4096;

    // ------------------------------------------------------------------------------------------ protection

    /**
     * Writes a consistent copy of the catalog to {@code target} (SQLite {@code VACUUM INTO} in a read
     * transaction, so writers keep writing), checks it with {@code PRAGMA integrity_check}, fsyncs it and
     * renames it into place. Returns its size in bytes. The copy is what the destination keeps.
     */
    public long copyTo(Path target) throws CatalogException {
        Path t = target.toAbsolutePath();
        Path tmp = t.resolveSibling(t.getFileName() + ".tmp");
        long lastBackup = read("copy to " + t, con -> {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException e) {
                throw new CatalogException(tmp + ": cannot remove stale temporary copy: " + e.getMessage(), e);
            }
            exec(con, "COMMIT"); // VACUUM cannot run inside the read transaction the helper opened
            try (PreparedStatement ps = con.prepareStatement("VACUUM INTO ?")) {
                ps.setString(1, tmp.toString());
                ps.executeUpdate();
            } finally {
                exec(con, "BEGIN");
            }
            return queryOptionalLong(con, "SELECT max(id) FROM backup WHERE state = 'complete'").orElse(0);
        });
        Schema.verifyCopy(tmp, SCHEMA_VERSION);
        long bytes;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            bytes = Files.size(tmp);
            Files.move(tmp, t, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            fsyncDir(t.getParent());
        } catch (IOException e) {
            throw new CatalogException(t + ": cannot finish catalog copy: " + e.getMessage(), e);
        }
        write("log copy", con -> {
            try (PreparedStatement ps = con.prepareStatement(
                    "INSERT INTO copy_log(taken_ns, target, bytes, last_backup) VALUES(?,?,?,?)")) {
                ps.setLong(1, nanos(Instant.now()));
                ps.setString(2, t.toString());
                ps.setLong(3, bytes);
                ps.setLong(4, lastBackup);
                ps.executeUpdate();
            }
            return null;
        });
        return bytes;
    }

    /**
     * Rebuilds a catalog at {@code target} from a copy made by {@link #copyTo}: verifies the copy (integrity,
     * application id, schema not newer than this code), then copies it into place atomically, replacing
     * {@code target} and its WAL. No {@code Catalog} may have {@code target} open.
     */
    public static void restoreFrom(Path copy, Path target) throws CatalogException {
        Path c = copy.toAbsolutePath();
        Path t = target.toAbsolutePath();
        Schema.verifyCopy(c, SCHEMA_VERSION);
        Path tmp = t.resolveSibling(t.getFileName() + ".restore.tmp");
        try {
            Files.copy(c, tmp, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.deleteIfExists(t.resolveSibling(t.getFileName() + "-wal"));
            Files.deleteIfExists(t.resolveSibling(t.getFileName() + "-shm"));
            Files.move(tmp, t, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            fsyncDir(t.getParent());
        } catch (IOException e) {
            throw new CatalogException(t + ": cannot restore catalog from " + c + ": " + e.getMessage(), e);
        }
    }

    /** Runs {@code PRAGMA integrity_check} on the live catalog; throws {@link CorruptCatalogException} with its findings. */
    public void checkIntegrity() throws CatalogException {
        read("integrity check", con -> {
            Schema.integrity(con, file);
            return null;
        });
    }

    /** Checkpoints the WAL and closes every connection. */
    @Override
    public void close() throws CatalogException {
        if (closed) {
            return;
        }
        checkpointer.stop();
        writeLock.lock();
        try {
            closed = true;
            try (Statement st = writer.createStatement()) {
                st.execute("PRAGMA wal_checkpoint(TRUNCATE)");
            } catch (SQLException e) {
                // a failed checkpoint loses nothing: the WAL is replayed on the next open
            }
        } finally {
            writeLock.unlock();
        }
        closeQuietly();
    }

    private void closeQuietly() {
        closed = true;
        checkpointer.stop();
        for (Connection c; (c = idleReaders.poll()) != null; ) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // closing
            }
        }
        if (writer != null) {
            try {
                writer.close();
            } catch (SQLException ignored) {
                // closing
            }
        }
    }

    // ------------------------------------------------------------------------------------------ plumbing

    /** A unit of database work on one connection. */
    interface SqlWork<T> {
        T run(Connection con) throws SQLException, CatalogException;
    }

    /** Runs {@code work} as one write transaction on the single writer connection. */
    <T> T write(String what, SqlWork<T> work) throws CatalogException {
        return write(what, false, work);
    }

    /**
     * Runs {@code work} as one write transaction; {@code durable} commits it with synchronous=FULL (fsync of
     * the WAL) so it survives power loss too, not only an application crash.
     */
    <T> T write(String what, boolean durable, SqlWork<T> work) throws CatalogException {
        writeLock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("catalog " + file + " is closed");
            }
            try {
                if (durable) {
                    exec(writer, "PRAGMA synchronous = FULL");
                }
                try {
                    exec(writer, "BEGIN IMMEDIATE");
                    T r = work.run(writer);
                    exec(writer, "COMMIT");
                    checkpointer.nudge();
                    return r;
                } finally {
                    if (durable) {
                        rollback();
                        exec(writer, "PRAGMA synchronous = NORMAL");
                    }
                }
            } catch (SQLException e) {
                rollback();
                throw translate(file, what, e);
            } catch (CatalogException | RuntimeException e) {
                rollback();
                throw e;
            }
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Runs one statement. Transactions are explicit BEGIN/COMMIT/ROLLBACK statements on connections left in
     * JDBC auto-commit mode: the driver's own transaction tracking goes wrong when SQLite rolls a transaction
     * back by itself (SQLITE_FULL does), explicit statements cannot.
     */
    static void exec(Connection con, String sql) throws SQLException {
        try (Statement st = con.createStatement()) {
            st.execute(sql);
        }
    }

    /** Rolls back whatever transaction {@code con} may be in; "no transaction is active" is fine. */
    private static void rollbackQuietly(Connection con) {
        try {
            exec(con, "ROLLBACK");
        } catch (SQLException ignored) {
            // SQLite already rolled back (SQLITE_FULL, SQLITE_IOERR) or nothing was open
        }
    }

    private void rollback() {
        rollbackQuietly(writer);
    }

    /** Runs {@code work} in one read transaction on a pooled reader connection. */
    <T> T read(String what, SqlWork<T> work) throws CatalogException {
        if (closed) {
            throw new IllegalStateException("catalog " + file + " is closed");
        }
        readerPermits.acquireUninterruptibly();
        Connection con = idleReaders.poll();
        try {
            if (con == null) {
                con = newReader();
            }
            try {
                exec(con, "BEGIN");
                T r = work.run(con);
                exec(con, "COMMIT");
                return r;
            } catch (SQLException e) {
                rollbackQuietly(con);
                throw translate(file, what, e);
            } catch (CatalogException | RuntimeException e) {
                rollbackQuietly(con);
                throw e;
            }
        } catch (SQLException e) {
            throw translate(file, what, e);
        } finally {
            if (con != null) {
                idleReaders.offer(con);
            }
            readerPermits.release();
        }
    }

    private Connection newReader() throws SQLException {
        Connection con = Schema.connect(file, Math.max(1, options.cacheMib() / 4), SQLiteConfig.TransactionMode.DEFERRED);
        Function.create(con, "regexp", new Function() {
            private String last;
            private Pattern compiled;

            @Override
            protected void xFunc() throws SQLException {
                String re = value_text(0);
                String s = value_text(1);
                if (re == null || s == null) {
                    result();
                    return;
                }
                if (!re.equals(last)) {
                    compiled = Pattern.compile(re);
                    last = re;
                }
                result(compiled.matcher(s).find() ? 1 : 0);
            }
        }, 2, Function.FLAG_DETERMINISTIC);
        return con;
    }


    static CatalogException translate(Path file, String what, SQLException e) {
        String msg = file + ": " + what + ": " + e.getMessage();
        if (e instanceof SQLiteException se) {
            SQLiteErrorCode code = se.getResultCode();
            int primary = code == null ? -1 : code.code & 0xff;
            if (primary == SQLiteErrorCode.SQLITE_FULL.code) {
                return new CatalogFullException(msg, e);
            }
            if (primary == SQLiteErrorCode.SQLITE_CORRUPT.code || primary == SQLiteErrorCode.SQLITE_NOTADB.code) {
                return new CorruptCatalogException(msg, e);
            }
        }
        return new CatalogException(msg, e);
    }

    static final String BLOCK_UPSERT = "INSERT INTO block(sha256, md5, size, first_backup, refs) VALUES(?,?,?,?,1)"
            + " ON CONFLICT(sha256) DO UPDATE SET refs = refs + 1, first_backup = coalesce(first_backup, excluded.first_backup)";

    static void bindBlockUpsert(PreparedStatement ps, Block b, long backupId) throws SQLException {
        ps.setBytes(1, b.sha256());
        ps.setBytes(2, b.md5());
        ps.setLong(3, b.sizeBytes());
        ps.setLong(4, backupId);
    }

    /** Undoes everything a running backup wrote to versions, streams, regions and block attribution. */
    private void undo(Connection con, long backupId) throws SQLException, CatalogException {
        // Block references of a volume are counted when its ingest finishes (FileIngest.finish merges them);
        // versions of a volume whose ingest never finished hold no counted references.
        List<Long> counted = new ArrayList<>();
        List<Long> uncounted = new ArrayList<>();
        try (PreparedStatement ps = con.prepareStatement("SELECT v.id, EXISTS (SELECT 1 FROM backup_volume bv"
                + " WHERE bv.backup_id = ?1 AND bv.volume_id = d.volume_id) FROM version v JOIN dir d ON d.id = v.dir_id"
                + " WHERE v.valid_from = ?1")) {
            ps.setLong(1, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    (rs.getInt(2) != 0 ? counted : uncounted).add(rs.getLong(1));
                }
            }
        }
        deleteVersions(con, counted, true);
        deleteVersions(con, uncounted, false);
        try (PreparedStatement ps = con.prepareStatement("UPDATE version SET valid_to = NULL WHERE valid_to = ?")) {
            ps.setLong(1, backupId);
            ps.executeUpdate();
        }
        deleteRegions(con, "SELECT id, blocks FROM region WHERE backup_id = ?", backupId);
        try (PreparedStatement ps = con.prepareStatement("UPDATE block SET first_backup = NULL WHERE first_backup = ?")) {
            ps.setLong(1, backupId);
            ps.executeUpdate();
        }
        try (PreparedStatement ps = con.prepareStatement("DELETE FROM backup_volume WHERE backup_id = ?")) {
            ps.setLong(1, backupId);
            ps.executeUpdate();
        }
    }

    /** Deletes versions and their streams, decrementing (when {@code counted}) the reference count of every block they list. */
    private void deleteVersions(Connection con, List<Long> ids, boolean counted) throws SQLException, CatalogException {
        try (PreparedStatement sel = con.prepareStatement("SELECT name, blocks FROM stream WHERE version_id = ?");
                PreparedStatement dec = con.prepareStatement("UPDATE block SET refs = refs - 1 WHERE sha256 = ?");
                PreparedStatement delS = con.prepareStatement("DELETE FROM stream WHERE version_id = ?");
                PreparedStatement delV = con.prepareStatement("DELETE FROM version WHERE id = ?")) {
            for (long id : ids) {
                sel.setLong(1, id);
                try (ResultSet rs = sel.executeQuery()) {
                    while (rs.next()) {
                        if (counted) {
                            decrement(dec, rs.getBytes(2), "stream '" + rs.getString(1) + "' of version " + id);
                        }
                    }
                }
                delS.setLong(1, id);
                delS.executeUpdate();
                delV.setLong(1, id);
                delV.executeUpdate();
            }
            dec.executeBatch();
        }
    }

    private void deleteRegions(Connection con, String select, long backupId) throws SQLException, CatalogException {
        try (PreparedStatement sel = con.prepareStatement(select);
                PreparedStatement dec = con.prepareStatement("UPDATE block SET refs = refs - 1 WHERE sha256 = ?");
                PreparedStatement del = con.prepareStatement("DELETE FROM region WHERE id = ?")) {
            sel.setLong(1, backupId);
            List<Long> ids = new ArrayList<>();
            try (ResultSet rs = sel.executeQuery()) {
                while (rs.next()) {
                    decrement(dec, rs.getBytes(2), "region " + rs.getLong(1));
                    ids.add(rs.getLong(1));
                }
            }
            dec.executeBatch();
            for (long id : ids) {
                del.setLong(1, id);
                del.executeUpdate();
            }
        }
    }

    private void decrement(PreparedStatement dec, byte[] blob, String where) throws SQLException, CatalogException {
        int n = Blobs.blockCount(blob, file + ": " + where);
        for (int i = 0; i < n; i++) {
            dec.setBytes(1, Blobs.blockSha(blob, i));
            dec.addBatch();
        }
    }

    private List<BackupInfo> backupsWhere(Connection con, String where, Object arg) throws SQLException {
        List<BackupInfo> out = new ArrayList<>();
        String order = where.endsWith("--") ? "" : " ORDER BY id";
        try (PreparedStatement ps = con.prepareStatement("SELECT id, vm_id, state, started_ns, ended_ns, consistency,"
                + " policy, error, files, logical_bytes, new_bytes, stored_bytes FROM backup WHERE " + where + order)) {
            ps.setObject(1, arg);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long ended = rs.getLong(5);
                    boolean hasEnd = !rs.wasNull();
                    out.add(new BackupInfo(rs.getLong(1), rs.getLong(2), BackupState.parseSql(rs.getString(3)),
                            instant(rs.getLong(4)), hasEnd ? instant(ended) : null, rs.getString(6), rs.getString(7),
                            rs.getString(8), rs.getLong(9), rs.getLong(10), rs.getLong(11), rs.getLong(12)));
                }
            }
        }
        return out;
    }

    private void requireState(Connection con, long backupId, BackupState wanted) throws SQLException, CatalogException {
        OptionalLong exists = queryOptionalLong(con, "SELECT id FROM backup WHERE id = ?", backupId);
        if (exists.isEmpty()) {
            throw new NoSuchPathException(file + ": no backup " + backupId);
        }
        String state;
        try (PreparedStatement ps = con.prepareStatement("SELECT state FROM backup WHERE id = ?")) {
            ps.setLong(1, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                state = rs.getString(1);
            }
        }
        if (!state.equals(wanted.sql())) {
            throw new NoSuchPathException(file + ": backup " + backupId + " is " + state + ", expected "
                    + wanted.sql());
        }
    }

    /** The backup is complete and the volume belongs to its VM. */
    private void requireQueryable(Connection con, long backupId, long volumeId) throws SQLException, CatalogException {
        requireState(con, backupId, BackupState.COMPLETE);
        long vm = vmOfVolume(con, volumeId);
        long bvm = queryLong(con, "SELECT vm_id FROM backup WHERE id = ?", backupId);
        if (vm != bvm) {
            throw new NoSuchPathException(file + ": volume " + volumeId + " is not a volume of backup " + backupId
                    + "'s vm " + bvm);
        }
    }

    long vmOfVolume(Connection con, long volumeId) throws SQLException, CatalogException {
        Long cached = volumeVm.get(volumeId);
        if (cached != null) {
            return cached;
        }
        OptionalLong vm = queryOptionalLong(con, "SELECT k.vm_id FROM volume vo JOIN disk k ON k.id = vo.disk_id"
                + " WHERE vo.id = ?", volumeId);
        if (vm.isEmpty()) {
            throw new NoSuchPathException(file + ": no volume " + volumeId);
        }
        volumeVm.put(volumeId, vm.getAsLong());
        return vm.getAsLong();
    }

    private static TreeSet<Long> completeBackups(Connection con, long vmId) throws SQLException {
        TreeSet<Long> out = new TreeSet<>();
        try (PreparedStatement ps = con.prepareStatement("SELECT id FROM backup WHERE vm_id = ? AND state = 'complete'")) {
            ps.setLong(1, vmId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
        }
        return out;
    }

    /** The members of {@code set} in [from, to), {@code to} 0 meaning unbounded. */
    private static List<Long> within(TreeSet<Long> set, long from, long to) {
        return new ArrayList<>(set.subSet(from, true, to == 0 ? Long.MAX_VALUE : to, false));
    }

    private Entry statEntry(Connection con, long backupId, long volumeId, String path) throws SQLException,
            CatalogException {
        String[] dn = splitPath(path);
        try (PreparedStatement ps = con.prepareStatement("SELECT " + ENTRY_COLUMNS + ENTRY_FROM
                + " WHERE d.volume_id = ? AND d.path = ? AND n.name = ? AND v.valid_from <= ?"
                + " AND (v.valid_to IS NULL OR v.valid_to > ?)")) {
            ps.setLong(1, volumeId);
            ps.setString(2, dn[0]);
            ps.setString(3, dn[1]);
            ps.setLong(4, backupId);
            ps.setLong(5, backupId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? entry(rs) : null;
            }
        }
    }

    private String[] splitPath(String path) throws CatalogException {
        try {
            return Paths2.split(path);
        } catch (IllegalArgumentException e) {
            throw new NoSuchPathException(file + ": " + e.getMessage());
        }
    }

    static Entry entry(ResultSet rs) throws SQLException {
        long validTo = rs.getLong(17);
        return new Entry(rs.getLong(1), rs.getLong(2), Paths2.join(rs.getString(3), rs.getString(4)),
                rs.getString(4), FileKind.ofCode(rs.getInt(5)), rs.getLong(6), rs.getLong(7), rs.getInt(8),
                rs.getLong(9), rs.getLong(10), rs.getLong(11), rs.getLong(12), rs.getLong(13), rs.getInt(14),
                rs.getLong(15), rs.getLong(16), validTo);
    }

    private FileBlock blockRow(Connection con, byte[] sha, String stream, long offset) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement(BLOCK_ROW)) {
            return blockRow(ps, sha, stream, offset);
        }
    }

    private static final String BLOCK_ROW = "SELECT md5, size, stored_size, codec FROM block WHERE sha256 = ?";

    /** One block's row through a statement prepared from {@link #BLOCK_ROW} (a file's blocks share one). */
    private static FileBlock blockRow(PreparedStatement ps, byte[] sha, String stream, long offset) throws SQLException {
        ps.setBytes(1, sha);
        try (ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
                return null;
            }
            long stored = rs.getLong(3);
            if (rs.wasNull()) {
                stored = -1;
            }
            return new FileBlock(stream, offset, sha, rs.getBytes(1), rs.getLong(2), stored, rs.getString(4));
        }
    }

    private List<BlockRef> blockRefs(Connection con, byte[] blob, String where) throws SQLException, CatalogException {
        int n = Blobs.blockCount(blob, file + ": " + where);
        List<BlockRef> out = new ArrayList<>(n);
        try (PreparedStatement ps = con.prepareStatement(BLOCK_ROW)) {
            for (int i = 0; i < n; i++) {
                FileBlock fb = blockRow(ps, Blobs.blockSha(blob, i), null, 0);
                if (fb == null) {
                    throw new CorruptCatalogException(file + ": " + where + " entry " + i + " names unknown block "
                            + hex(Blobs.blockSha(blob, i)));
                }
                out.add(new BlockRef(Blobs.blockOffset(blob, i), new Block(fb.sha256(), fb.md5(), fb.sizeBytes())));
            }
        }
        return out;
    }

    private boolean listContains(byte[] blob, byte[] sha, String where) throws CorruptCatalogException {
        int n = Blobs.blockCount(blob, file + ": " + where);
        for (int i = 0; i < n; i++) {
            if (Arrays.equals(blob, 1 + i * Blobs.BLOCK_ENTRY_BYTES + 8, 1 + (i + 1) * Blobs.BLOCK_ENTRY_BYTES, sha, 0, 32)) {
                return true;
            }
        }
        return false;
    }

    private long destinationId(Connection con, String name) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement(
                "INSERT INTO destination(name) VALUES(?) ON CONFLICT(name) DO NOTHING")) {
            ps.setString(1, name);
            ps.executeUpdate();
        }
        try (PreparedStatement ps = con.prepareStatement("SELECT id FROM destination WHERE name = ?")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    static long queryLong(Connection con, String sql, Object... args) throws SQLException, CatalogException {
        OptionalLong v = queryOptionalLong(con, sql, args);
        if (v.isEmpty()) {
            throw new NoSuchPathException("no row for " + sql + " with " + Arrays.toString(args));
        }
        return v.getAsLong();
    }

    static OptionalLong queryOptionalLong(Connection con, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return OptionalLong.empty();
                }
                long v = rs.getLong(1);
                return rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(v);
            }
        }
    }

    private static long[] sums(Connection con, String sql, long arg) throws SQLException {
        try (PreparedStatement ps = con.prepareStatement(sql)) {
            ps.setLong(1, arg);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new long[] {rs.getLong(1), rs.getLong(2)};
            }
        }
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException("invalid " + what);
        }
    }

    private static void requirePage(int offset, int limit) {
        if (offset < 0 || limit < 1 || limit > MAX_PAGE) {
            throw new IllegalArgumentException("page offset " + offset + " limit " + limit + " (limit 1.." + MAX_PAGE + ")");
        }
    }

    static long nanos(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano());
    }

    static Instant instant(long nanos) {
        return Instant.ofEpochSecond(Math.floorDiv(nanos, 1_000_000_000L), Math.floorMod(nanos, 1_000_000_000L));
    }

    private static String encodeChain(List<String> chain) {
        for (String s : chain) {
            if (s == null || s.isEmpty() || s.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("chain file name must be non-empty without newlines: " + s);
            }
        }
        return String.join("\n", chain);
    }

    private static List<String> decodeChain(String s) {
        return s.isEmpty() ? List.of() : List.of(s.split("\n"));
    }

    static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }

    private static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // not every filesystem lets a directory be opened for fsync; the rename is still atomic
        }
    }

    static byte[] readHeader(Path f) throws IOException {
        try (InputStream in = Files.newInputStream(f)) {
            return in.readNBytes(100);
        }
    }

    static boolean isSqliteHeader(byte[] h) {
        return h.length >= 16 && Arrays.equals(h, 0, 16, SQLITE_MAGIC, 0, 16);
    }
}
