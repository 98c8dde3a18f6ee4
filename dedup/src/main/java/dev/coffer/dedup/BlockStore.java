package dev.coffer.dedup;

import java.io.IOException;
import java.io.InputStream;
import java.io.BufferedInputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * The durable content-addressed block store of a destination: append-only pack files plus a SQLite
 * index from SHA-256 to (pack, offset, lengths, codec), and committed manifests. Layout, fsync order,
 * recovery and GC: docs/store.md.
 *
 * <p>Guarantees: a {@link #put} future completes only after the block's bytes and its index row are
 * on stable storage (pack fsync, then index commit with {@code synchronous=FULL}); bytes are checked
 * against their SHA-256 before they are written and again on every read. {@link #open} recovers from
 * a crash at any point: records written after the last index commit are re-indexed if intact, a torn
 * tail is truncated, and no index row points past the end of its pack.
 *
 * <p>Thread-safe. One writer thread appends (group commit: one fsync per batch); verification runs on
 * a pool; reads are positional and concurrent. Only one process may open a store (a file lock).
 */
public final class BlockStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BlockStore.class);
    /** Index schema version, in the meta table; bump with docs/store.md. */
    static final int INDEX_VERSION = 1;
    /** Cap on the in-memory "recently asked about" set that protects blocks from a concurrent GC (~100 B each). */
    static final int MAX_TOUCHED = 1 << 20;
    /** Cap on damage lines kept in a verify report (the per-backup counts are always complete). */
    static final int MAX_DAMAGE_LINES = 1000;
    private static final Object POISON = new Object();

    private final Path dir;
    private final Path packsDir;
    private final Path manifestsDir;
    private final Path tmpDir;
    private final StoreOptions options;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Connection writeDb;
    private final Connection readDb;
    /** Opened by {@link #openForReading}: no writer, no recovery, every write refused. */
    private final boolean readOnly;
    /** Null when {@link #readOnly}. */
    private final ExecutorService verifyPool;
    /** Null when {@link #readOnly}. */
    private final Thread writer;
    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final ConcurrentHashMap<Key, CompletableFuture<PutResult>> inflight = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Key, Long> touched = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, FileChannel> readers = new ConcurrentHashMap<>();
    /** Held for reading by lookups that act on a row (dedup hits, reads); for writing while GC deletes rows or packs. */
    private final ReentrantReadWriteLock gcLock = new ReentrantReadWriteLock();
    private final AtomicLong seq = new AtomicLong();
    private final AtomicInteger tmpCounter = new AtomicInteger();
    private final Object gcRunning = new Object();
    private volatile boolean closed;
    private volatile IOException writerFailure;
    /** @GuardedBy("readDb") */
    private PreparedStatement lookupStmt;
    /** @GuardedBy("readDb") */
    private PreparedStatement lookupAllStmt;

    // writer-thread state
    private long currentPackId;
    private PackAppender currentPack;

    private BlockStore(Path dir, StoreOptions options, boolean readOnly) throws IOException {
        this.dir = dir;
        this.options = options;
        this.readOnly = readOnly;
        this.packsDir = dir.resolve("packs");
        this.manifestsDir = dir.resolve("manifests");
        this.tmpDir = dir.resolve("tmp");
        if (!readOnly) {
            Files.createDirectories(packsDir);
            Files.createDirectories(manifestsDir);
            Files.createDirectories(tmpDir);
        } else if (!Files.isRegularFile(dir.resolve("index.db")) || !Files.isDirectory(packsDir)) {
            throw new DedupException(dir + ": not a store (no index.db or packs/)");
        }
        // a writer holds LOCK exclusively, readers share it: a restore runs beside another restore, not
        // beside a backup or GC that may be cutting or deleting the packs it reads
        lockChannel = FileChannel.open(dir.resolve("LOCK"), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock l;
        try {
            l = lockChannel.tryLock(0, Long.MAX_VALUE, readOnly);
        } catch (java.nio.channels.OverlappingFileLockException e) {
            l = null; // held by this JVM
        }
        if (l == null) {
            lockChannel.close();
            throw new DedupException(dir + ": store is in use by another process (LOCK held)");
        }
        lock = l;
        try {
            writeDb = readOnly ? null : openDb();
            readDb = openDb();
            if (readOnly) {
                checkIndexVersion(readDb);
            } else {
                initSchema();
                recover();
            }
        } catch (SQLException e) {
            closeQuietly();
            throw new DedupException(dir.resolve("index.db") + ": " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            closeQuietly();
            throw e;
        }
        if (readOnly) {
            verifyPool = null;
            writer = null;
            return;
        }
        AtomicInteger n = new AtomicInteger();
        verifyPool = Executors.newFixedThreadPool(options.verifyThreads(), r -> {
            Thread t = new Thread(r, "coffer-store-verify-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        writer = new Thread(this::writerLoop, "coffer-store-writer");
        writer.setDaemon(true);
        writer.start();
    }

    /** Opens (creating if needed) the store in {@code dir} with default options, recovering from any crash. */
    public static BlockStore open(Path dir) throws IOException {
        return open(dir, StoreOptions.defaults());
    }

    /** Opens (creating if needed) the store in {@code dir}, recovering from any crash. */
    public static BlockStore open(Path dir, StoreOptions options) throws IOException {
        Files.createDirectories(dir);
        return new BlockStore(dir.toAbsolutePath(), options.withDefaults(), false);
    }

    /**
     * Opens the existing store in {@code dir} for reading blocks and manifests only (a restore): no
     * recovery, no writer thread, nothing written to the index, and every write refused with a
     * {@link DedupException}. Safe without recovery because reads go through index rows, and a row is
     * committed only after its record is on stable storage. Shares the store's lock with other readers.
     */
    public static BlockStore openForReading(Path dir) throws IOException {
        return new BlockStore(dir.toAbsolutePath(), StoreOptions.defaults(), true);
    }

    /** The store's directory. */
    public Path dir() {
        return dir;
    }

    private Connection openDb() throws SQLException {
        // the driver itself rather than DriverManager, whose driver scan and first string concatenations
        // (bootstrapped at run time: java.sql is not compiled with inline concatenation) cost ~10 ms of a start
        Connection c = new SQLiteConfig().createConnection("jdbc:sqlite:" + dir.resolve("index.db"));
        try (Statement s = c.createStatement()) {
            s.execute("PRAGMA busy_timeout=60000");
            s.execute("PRAGMA journal_mode=WAL");
            // FULL: a commit is on stable storage when it returns; GC's deletes depend on it (docs/store.md)
            s.execute("PRAGMA synchronous=FULL");
        }
        return c;
    }

    private void checkIndexVersion(Connection db) throws SQLException, DedupException {
        try (Statement s = db.createStatement();
                ResultSet rs = s.executeQuery("SELECT value FROM meta WHERE key='index_version'")) {
            String found = rs.next() ? rs.getString(1) : null;
            if (!String.valueOf(INDEX_VERSION).equals(found)) {
                throw new UnsupportedVersionException(dir.resolve("index.db") + ": index version " + found
                        + ", this build reads " + INDEX_VERSION);
            }
        }
    }

    /** Fails a write to a store opened for reading. */
    private void checkWritable() throws DedupException {
        if (readOnly) {
            throw readOnlyRefusal();
        }
    }

    private DedupException readOnlyRefusal() {
        return new DedupException(dir + ": store opened for reading only");
    }

    private void initSchema() throws SQLException, DedupException {
        try (Statement s = writeDb.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)");
            s.execute("CREATE TABLE IF NOT EXISTS packs(id INTEGER PRIMARY KEY, indexed_end INTEGER NOT NULL,"
                    + " state INTEGER NOT NULL)");
            s.execute("CREATE TABLE IF NOT EXISTS blocks(sha256 BLOB PRIMARY KEY, pack INTEGER NOT NULL,"
                    + " offset INTEGER NOT NULL, stored_len INTEGER NOT NULL, raw_len INTEGER NOT NULL,"
                    + " codec INTEGER NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID");
            s.execute("CREATE INDEX IF NOT EXISTS blocks_pack ON blocks(pack, offset)");
            s.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('index_version', '" + INDEX_VERSION + "')");
            checkIndexVersion(writeDb);
            // the last batch number, kept in meta by each batch's own transaction: MAX(seq) reads the whole
            // index (seq has no index of its own), ~4 ms for 20,000 blocks and seconds for millions, at every open
            try (ResultSet rs = s.executeQuery("SELECT value FROM meta WHERE key='" + MAX_SEQ + "'")) {
                if (rs.next()) {
                    seq.set(Long.parseLong(rs.getString(1)));
                    return;
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(seq), 0) FROM blocks")) {
                rs.next();
                seq.set(rs.getLong(1)); // a store written before max_seq was kept: once
            }
            recordSeq(seq.get());
        }
    }

    /** The meta key of the last committed batch number. */
    private static final String MAX_SEQ = "max_seq";

    /** Records {@code batchSeq} as the last batch number, in the caller's transaction if one is open. */
    private void recordSeq(long batchSeq) throws SQLException {
        try (PreparedStatement up = writeDb.prepareStatement("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)")) {
            up.setString(1, MAX_SEQ);
            up.setString(2, Long.toString(batchSeq));
            up.executeUpdate();
        }
    }

    // ---------------------------------------------------------------- recovery

    /** Brings packs and index into agreement after any crash (docs/store.md, "Recovery"). */
    private void recover() throws IOException, SQLException {
        for (Path p : list(tmpDir)) {
            Files.deleteIfExists(p); // uncommitted manifest parts and manifests: never acknowledged
        }
        Map<Long, long[]> packs = new TreeMap<>(); // id -> {indexed_end, state}
        try (Statement s = writeDb.createStatement();
                ResultSet rs = s.executeQuery("SELECT id, indexed_end, state FROM packs")) {
            while (rs.next()) {
                packs.put(rs.getLong(1), new long[] {rs.getLong(2), rs.getLong(3)});
            }
        }
        for (Path p : list(packsDir)) {
            String name = p.getFileName().toString();
            Long id = parsePackName(name);
            if (id == null || !packs.containsKey(id)) {
                // a pack's row is committed before its file is created, so this file never held an acknowledged block
                log.warn("store recovery removing unregistered file={}", p);
                Files.deleteIfExists(p);
            }
        }
        for (Map.Entry<Long, long[]> e : packs.entrySet()) {
            long id = e.getKey();
            Path file = packsDir.resolve(PackFile.fileName(id));
            if (e.getValue()[1] == 1) {
                // GC committed the move of every live record out of this pack; finish deleting it
                Files.deleteIfExists(file);
                execute("DELETE FROM blocks WHERE pack=" + id);
                execute("DELETE FROM packs WHERE id=" + id);
                continue;
            }
            recoverPack(id, file, e.getValue()[0]);
        }
        fsyncDir(packsDir);
        try (Statement s = writeDb.createStatement();
                ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(id), 0) FROM packs")) {
            rs.next();
            currentPackId = rs.getLong(1);
        }
        if (currentPackId == 0) {
            newPack();
        } else {
            Path f = packsDir.resolve(PackFile.fileName(currentPackId));
            FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE);
            currentPack = PackAppender.open(f, ch, ch.size(), options.bufferedPackWrites());
        }
    }

    private void recoverPack(long id, Path file, long indexedEnd) throws IOException, SQLException {
        String name = file.toString();
        if (!Files.exists(file)) {
            int n = execute("DELETE FROM blocks WHERE pack=" + id);
            if (n > 0) {
                log.error("store damage pack={} missing; {} index rows dropped (verify reports the backups)", file, n);
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(new PackFile(id).encode(), 0);
                ch.force(true);
            }
            execute("UPDATE packs SET indexed_end=" + PackFile.HEADER_BYTES + " WHERE id=" + id);
            return;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            if (size < PackFile.HEADER_BYTES) {
                // the header is written and fsynced before the first record, so nothing was acknowledged here
                ch.truncate(0);
                ch.write(new PackFile(id).encode(), 0);
                ch.force(true);
                execute("UPDATE packs SET indexed_end=" + PackFile.HEADER_BYTES + " WHERE id=" + id);
                return;
            }
            ByteBuffer hb = ByteBuffer.allocate(PackFile.HEADER_BYTES);
            readFully(ch, hb, 0, name);
            hb.flip();
            PackFile pf = PackFile.parse(hb, name);
            if (pf.packId() != id) {
                throw new CorruptDataException(name + " at 0x8: pack id expected " + id + ", found " + pf.packId());
            }
            long end = Math.max(indexedEnd, PackFile.HEADER_BYTES);
            if (size < end) {
                int n = execute("DELETE FROM blocks WHERE pack=" + id + " AND offset+" + PackRecord.HEADER_BYTES
                        + "+stored_len>" + size);
                log.error("store damage pack={} shorter ({}) than its indexed end ({}); {} index rows dropped", file, size, end, n);
                end = size;
            }
            long good = end;
            int reindexed = 0;
            long batchSeq = seq.incrementAndGet();
            writeDb.setAutoCommit(false);
            try (PreparedStatement ins = writeDb.prepareStatement(
                    "INSERT OR IGNORE INTO blocks(sha256, pack, offset, stored_len, raw_len, codec, seq) VALUES (?,?,?,?,?,?,?)")) {
                while (good + PackRecord.HEADER_BYTES <= size) {
                    ByteBuffer rh = ByteBuffer.allocate(PackRecord.HEADER_BYTES);
                    readFully(ch, rh, good, name);
                    rh.flip();
                    PackRecord r;
                    try {
                        r = PackRecord.parse(rh, name, good);
                        if (good + PackRecord.HEADER_BYTES + r.storedLength() > size) {
                            break;
                        }
                        ByteBuffer pb = ByteBuffer.allocate(r.storedLength());
                        readFully(ch, pb, good + PackRecord.HEADER_BYTES, name);
                        checkPayload(r, pb.array(), 0, r.storedLength(), name, good);
                    } catch (CorruptDataException ex) {
                        log.warn("store recovery torn tail pack={} at=0x{}: {}", file, Long.toHexString(good), ex.getMessage());
                        break;
                    }
                    ins.setBytes(1, r.sha256());
                    ins.setLong(2, id);
                    ins.setLong(3, good);
                    ins.setInt(4, r.storedLength());
                    ins.setInt(5, r.rawLength());
                    ins.setInt(6, r.codec().id());
                    ins.setLong(7, batchSeq);
                    ins.executeUpdate();
                    reindexed++;
                    good += PackRecord.HEADER_BYTES + r.storedLength();
                }
                if (good < size) {
                    log.warn("store recovery truncating pack={} from {} to {} bytes", file, size, good);
                    ch.truncate(good);
                }
                ch.force(true);
                try (PreparedStatement up = writeDb.prepareStatement("UPDATE packs SET indexed_end=? WHERE id=?")) {
                    up.setLong(1, good);
                    up.setLong(2, id);
                    up.executeUpdate();
                }
                recordSeq(batchSeq);
                writeDb.commit();
            } catch (SQLException | IOException ex) {
                writeDb.rollback();
                throw ex;
            } finally {
                writeDb.setAutoCommit(true);
            }
            if (reindexed > 0) {
                log.info("store recovery pack={} reindexed={} end={}", file, reindexed, good);
            }
        }
    }

    /** Checks a record's payload CRC, decodes it and checks its SHA-256; returns the raw bytes. */
    private static ByteBuffer checkPayload(PackRecord r, byte[] buf, int off, int len, String file, long at)
            throws CorruptDataException {
        return checkPayload(r, buf, off, len, file, at, true, true);
    }

    /**
     * As above; {@code checkCrc} false when the CRC was just computed from these very bytes (uploads),
     * {@code hash} false when the caller checks the content end to end.
     */
    private static ByteBuffer checkPayload(PackRecord r, byte[] buf, int off, int len, String file, long at,
            boolean checkCrc, boolean hash) throws CorruptDataException {
        String where = file + " at 0x" + Long.toHexString(at);
        int crc = checkCrc ? PackRecord.crc(buf, off, len) : r.payloadCrc();
        if (crc != r.payloadCrc()) {
            throw new CorruptDataException(where + ": payload CRC expected 0x" + Integer.toHexString(r.payloadCrc())
                    + ", found 0x" + Integer.toHexString(crc));
        }
        // a raw block is the payload itself, a view of the record buffer: copying it was a fresh
        // 1 MiB array (page faults and zeroing) per block of a restore
        ByteBuffer raw = r.codec() == Codec.RAW ? ByteBuffer.wrap(buf, off, len).slice()
                : ByteBuffer.wrap(BlockCodecs.decode(r.codec(), buf, off, len, r.rawLength(), where));
        if (raw.remaining() != r.rawLength()) {
            throw new CorruptDataException(where + ": block decodes to " + raw.remaining() + " bytes, expected " + r.rawLength());
        }
        if (!hash) {
            return raw;
        }
        byte[] sha = BlockHasher.forThread().sha256(raw.array(), raw.arrayOffset(), raw.remaining());
        if (!Arrays.equals(sha, r.sha256())) {
            throw new HashMismatchException(where + ": block SHA-256 expected " + hex(r.sha256()) + ", found " + hex(sha));
        }
        return raw;
    }

    // ---------------------------------------------------------------- put / has / get

    /**
     * Stores a block given in its stored form, after checking that it decodes to bytes whose SHA-256 is
     * {@code sha256}. The future completes when the block is durable, or at once if already present;
     * it fails with {@link HashMismatchException} or {@link CorruptDataException} for bad bytes.
     *
     * @param stored the payload; owned by the store from now on (not copied)
     */
    public CompletableFuture<PutResult> put(byte[] sha256, int rawLength, Codec codec, byte[] stored, int storedLength) {
        if (storedLength < 0 || storedLength > stored.length) {
            return CompletableFuture.failedFuture(new LimitExceededException("block " + hex(sha256) + ": stored length "
                    + storedLength + " outside 0.." + stored.length));
        }
        return putVerified(sha256, rawLength, codec, new ByteBuffer[] {ByteBuffer.wrap(stored, 0, storedLength)}, () -> { });
    }

    /**
     * The network path: stores the remaining bytes of {@code payload}'s parts, in order (the stored form,
     * heap or direct, e.g. the socket buffers it arrived in), after the full check on the verify pool —
     * CRC-32C and SHA-256 in one pass for a raw block, decode then SHA-256 for a compressed one — and
     * compared with {@code sha256}. The index lookup runs there too, so a caller on an event loop never
     * touches SQLite.
     *
     * @param release runs exactly once when the store no longer reads {@code payload} (written, present, or failed)
     */
    CompletableFuture<PutResult> putVerified(byte[] sha256, int rawLength, Codec codec, ByteBuffer[] payload, Runnable release) {
        Runnable once = once(release);
        ByteBuffer[] view = new ByteBuffer[payload.length];
        long total = 0;
        for (int i = 0; i < payload.length; i++) {
            view[i] = payload[i].duplicate();
            total += view[i].remaining();
        }
        CompletableFuture<PutResult> bad = checkPut(sha256, rawLength, codec, (int) Math.min(Integer.MAX_VALUE, total));
        if (bad != null) {
            once.run();
            return bad;
        }
        int storedLength = (int) total;
        Key k = new Key(sha256.clone());
        CompletableFuture<PutResult> mine = new CompletableFuture<>();
        CompletableFuture<PutResult> other = inflight.putIfAbsent(k, mine);
        if (other != null) {
            once.run();
            return other.thenApply(r -> new PutResult(r.rawLength(), r.storedLength(), r.codec(), true));
        }
        try {
            verifyPool.execute(() -> {
                try {
                    PutResult present = presentAndTouch(k);
                    if (present != null) {
                        inflight.remove(k, mine);
                        once.run();
                        mine.complete(present);
                        return;
                    }
                    String where = "upload of " + k;
                    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                    byte[] sha;
                    if (codec == Codec.RAW) {
                        sha = BlockHasher.forThread().sha256WithCrc(view, crc);
                    } else {
                        byte[] p = new byte[storedLength];
                        ByteBuffer pb = ByteBuffer.wrap(p);
                        for (ByteBuffer v : view) {
                            pb.put(v.duplicate());
                        }
                        crc.update(p, 0, p.length);
                        byte[] raw = BlockCodecs.decode(codec, p, 0, p.length, rawLength, where);
                        sha = BlockHasher.forThread().sha256(raw, 0, raw.length);
                    }
                    if (!Arrays.equals(sha, k.sha)) {
                        throw new HashMismatchException(where + ": block SHA-256 expected " + hex(k.sha) + ", found " + hex(sha));
                    }
                    PackRecord r = new PackRecord(codec, storedLength, rawLength, k.sha, (int) crc.getValue());
                    queue.add(new PendingPut(k, r, view, once, mine));
                } catch (CorruptDataException e) {
                    inflight.remove(k, mine);
                    once.run();
                    mine.completeExceptionally(e instanceof HashMismatchException ? e
                            : new HashMismatchException("block " + k + ": " + e.getMessage()));
                } catch (RuntimeException e) {
                    inflight.remove(k, mine);
                    once.run();
                    mine.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            inflight.remove(k, mine);
            once.run();
            mine.completeExceptionally(new DedupException(dir + ": store is closed"));
        }
        return mine;
    }

    /**
     * The embedded path ({@link LocalDestination}): {@code sha256} was computed in this process over
     * exactly {@code raw}'s remaining bytes, and {@code encoded} is their stored form. Re-hashing those bytes
     * would prove nothing new, so it is skipped; a compressed form is decoded and compared byte for byte
     * with {@code raw} (the compressor's output is what gets stored), a raw form is {@code raw} itself.
     * Runs the checks on the calling thread, then queues the block for the writer, which finds those already stored.
     * Reads still verify the SHA-256 (docs/store.md, "Write path").
     */
    CompletableFuture<PutResult> putTrusted(byte[] sha256, ByteBuffer raw, BlockCodecs.Encoded encoded) {
        CompletableFuture<PutResult> bad = checkPut(sha256, encoded.rawLength(), encoded.codec(), encoded.length());
        if (bad != null) {
            return bad;
        }
        if (encoded.rawLength() != raw.remaining() || (encoded.codec() == Codec.RAW && encoded.length() != raw.remaining())) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("block " + hex(sha256) + ": encoded form of "
                    + encoded.rawLength() + " raw bytes for a block of " + raw.remaining()));
        }
        Key k = new Key(sha256.clone());
        CompletableFuture<PutResult> mine = new CompletableFuture<>();
        CompletableFuture<PutResult> other = inflight.putIfAbsent(k, mine);
        if (other != null) {
            return other.thenApply(r -> new PutResult(r.rawLength(), r.storedLength(), r.codec(), true));
        }
        try {
            // no index lookup here: the embedded path puts only what has() just found missing, so one
            // would nearly always miss, and the writer looks the batch up anyway (in one query)
            ByteBuffer payload = encoded.data().duplicate();
            if (encoded.codec() != Codec.RAW) {
                String where = "block " + k + " (" + encoded.codec() + ")";
                ByteBuffer d = encoded.data(); // a compressed form is always on the heap
                int n = encoded.rawLength();
                byte[] back = BlockCodecs.decode(encoded.codec(), d.array(), d.arrayOffset() + d.position(), d.remaining(),
                        n, where, BlockCodecs.Scratch.current().decoded(n));
                if (!ByteBuffer.wrap(back, 0, n).equals(raw)) {
                    throw new CorruptDataException(where + ": compressed form does not decode to the block's bytes");
                }
            }
            PackRecord r = new PackRecord(encoded.codec(), encoded.length(), encoded.rawLength(), k.sha, PackRecord.crc(payload));
            if (closed) {
                throw new DedupException(dir + ": store is closed");
            }
            queue.add(new PendingPut(k, r, new ByteBuffer[] {payload}, () -> { }, mine));
        } catch (DedupException | RuntimeException e) {
            inflight.remove(k, mine);
            mine.completeExceptionally(e);
        }
        return mine;
    }

    /** Argument checks shared by the put paths: a failed future, or null when the put may go ahead. */
    private CompletableFuture<PutResult> checkPut(byte[] sha256, int rawLength, Codec codec, int storedLength) {
        checkSha(sha256);
        if (closed) {
            return CompletableFuture.failedFuture(new DedupException(dir + ": store is closed"));
        }
        if (readOnly) {
            return CompletableFuture.failedFuture(readOnlyRefusal());
        }
        if (rawLength < 1 || rawLength > PackRecord.MAX_BLOCK_BYTES || storedLength < 1 || storedLength > rawLength
                || (codec == Codec.RAW && storedLength != rawLength)) {
            return CompletableFuture.failedFuture(new LimitExceededException("block " + hex(sha256) + ": lengths raw="
                    + rawLength + " stored=" + storedLength + " outside 1 <= stored <= raw <= " + PackRecord.MAX_BLOCK_BYTES));
        }
        return null;
    }

    private static Runnable once(Runnable r) {
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        return () -> {
            if (done.compareAndSet(false, true)) {
                r.run();
            }
        };
    }

    /** Compresses {@code raw} with {@code codecs} and stores it (see {@link #put(byte[], int, Codec, byte[], int)}). */
    public CompletableFuture<PutResult> putRaw(byte[] sha256, ByteBuffer raw, BlockCodecs codecs) {
        BlockCodecs.Encoded e = codecs.encode(raw);
        return put(sha256, e.rawLength(), e.codec(), e.toArray(), e.length());
    }

    private PutResult presentAndTouch(Key k) {
        gcLock.readLock().lock();
        try {
            long[] loc = lookup(k.sha);
            if (loc == null) {
                return null;
            }
            touch(k);
            return new PutResult((int) loc[3], (int) loc[2], Codec.byId((int) loc[4]), true);
        } finally {
            gcLock.readLock().unlock();
        }
    }

    private void touch(Key k) {
        if (touched.size() >= MAX_TOUCHED) {
            long cutoff = System.currentTimeMillis() - options.gcGrace().toMillis();
            touched.values().removeIf(t -> t < cutoff);
            if (touched.size() >= MAX_TOUCHED) {
                log.warn("store touched-set full entries={}; GC protection of blocks asked about is degraded", MAX_TOUCHED);
                return;
            }
        }
        touched.put(k, System.currentTimeMillis());
    }

    /** Whether the store durably holds the block. Counts as "asked about" for GC. */
    public boolean has(byte[] sha256) {
        checkSha(sha256);
        return presentAndTouch(new Key(sha256.clone())) != null;
    }

    /** Which of the blocks the store durably holds: bit i set when {@code sha256s.get(i)} is present. */
    public BitSet hasAll(List<byte[]> sha256s) {
        BitSet out = new BitSet(sha256s.size());
        for (int from = 0; from < sha256s.size(); from += LOOKUP_BATCH) {
            List<byte[]> chunk = sha256s.subList(from, Math.min(sha256s.size(), from + LOOKUP_BATCH));
            chunk.forEach(BlockStore::checkSha);
            Map<Key, Long> found = presentAndTouchAll(chunk);
            for (int i = 0; i < chunk.size(); i++) {
                if (found.containsKey(new Key(chunk.get(i)))) {
                    out.set(from + i);
                }
            }
        }
        return out;
    }

    /**
     * {@link #lookupAll} under the GC read lock, marking every block found as asked about (GC keeps it):
     * the batched form of {@link #presentAndTouch}.
     */
    private Map<Key, Long> presentAndTouchAll(List<byte[]> shas) {
        gcLock.readLock().lock();
        try {
            Map<Key, Long> found = lookupAll(shas);
            for (Key k : found.keySet()) {
                touch(k);
            }
            return found;
        } finally {
            gcLock.readLock().unlock();
        }
    }

    /** A block as stored, already checked: payload CRC, decode, SHA-256. */
    record Loaded(Codec codec, ByteBuffer payload, ByteBuffer raw) {}

    /** Reads a block's raw bytes, checking them against its SHA-256. */
    public ByteBuffer get(byte[] sha256) throws DedupException {
        return load(sha256, true).raw();
    }

    /**
     * Reads a block's raw bytes checking the record (header and payload CRC-32C, lengths, the index
     * entry) and decoding it, but not hashing it: for callers that check the content end to end
     * (see {@link Destination#getWithoutHashing}).
     */
    public ByteBuffer getWithoutHashing(byte[] sha256) throws DedupException {
        return load(sha256, false).raw();
    }

    /** Reads and checks a block; package-private for the server, which sends the stored payload. */
    Loaded load(byte[] sha256) throws DedupException {
        return load(sha256, true);
    }

    private Loaded load(byte[] sha256, boolean hash) throws DedupException {
        checkSha(sha256);
        byte[] rec;
        long[] loc;
        String file;
        gcLock.readLock().lock();
        try {
            loc = lookup(sha256);
            if (loc == null) {
                throw new BlockNotFoundException(dir + ": no block " + hex(sha256));
            }
            file = packsDir.resolve(PackFile.fileName(loc[0])).toString();
            rec = readRecord(loc, file);
        } catch (IOException e) {
            throw e instanceof DedupException d ? d : new DedupException(e.getMessage(), e);
        } finally {
            gcLock.readLock().unlock();
        }
        return checkRecord(sha256, loc, rec, file, hash);
    }

    private Loaded checkRecord(byte[] sha256, long[] loc, byte[] rec, String file, boolean hash)
            throws DedupException {
        PackRecord r = PackRecord.parse(ByteBuffer.wrap(rec), file, loc[1]);
        if (!Arrays.equals(r.sha256(), sha256) || r.storedLength() != loc[2] || r.rawLength() != loc[3]
                || r.codec().id() != loc[4]) {
            throw new CorruptDataException(file + " at 0x" + Long.toHexString(loc[1]) + ": record header does not match"
                    + " the index: expected block " + hex(sha256) + " stored=" + loc[2] + " raw=" + loc[3]
                    + ", found " + hex(r.sha256()) + " stored=" + r.storedLength() + " raw=" + r.rawLength());
        }
        int len = rec.length - PackRecord.HEADER_BYTES;
        ByteBuffer raw = checkPayload(r, rec, PackRecord.HEADER_BYTES, len, file, loc[1], true, hash);
        return new Loaded(r.codec(), ByteBuffer.wrap(rec, PackRecord.HEADER_BYTES, len).slice(), raw);
    }

    private byte[] readRecord(long[] loc, String file) throws IOException {
        FileChannel ch = readers.get(loc[0]);
        if (ch == null) {
            try {
                ch = readers.computeIfAbsent(loc[0], id -> {
                    try {
                        return FileChannel.open(packsDir.resolve(PackFile.fileName(id)), StandardOpenOption.READ);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            } catch (java.io.UncheckedIOException e) {
                // a pack gone from under its index rows (a writer's recovery drops such rows): the block is missing
                throw new BlockNotFoundException(file + ": pack cannot be opened (" + e.getCause().getMessage() + ")");
            }
        }
        int len = Math.addExact(PackRecord.HEADER_BYTES, (int) loc[2]);
        ByteBuffer b = ByteBuffer.allocate(len);
        readFully(ch, b, loc[1], file);
        return b.array();
    }

    /** Hashes looked up by one {@link #lookupAll} query. */
    static final int LOOKUP_BATCH = 256;

    /**
     * Which of up to {@link #LOOKUP_BATCH} hashes are present, in one query: their raw lengths (keys are
     * fresh copies). Duplicates in {@code shas} are fine. Only the length: reading the four other columns
     * of each row was a fifth of a manifest commit's time.
     */
    private Map<Key, Long> lookupAll(List<byte[]> shas) {
        Map<Key, Long> out = new HashMap<>(shas.size() * 2);
        if (shas.isEmpty()) {
            return out;
        }
        synchronized (readDb) {
            try {
                if (lookupAllStmt == null) {
                    lookupAllStmt = readDb.prepareStatement("SELECT sha256, raw_len FROM blocks"
                            + " WHERE sha256 IN (" + "?,".repeat(LOOKUP_BATCH - 1) + "?)");
                }
                PreparedStatement ps = lookupAllStmt;
                for (int i = 0; i < LOOKUP_BATCH; i++) {
                    // a short batch repeats its last hash: one prepared statement serves every size
                    ps.setBytes(i + 1, shas.get(Math.min(i, shas.size() - 1)));
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.put(new Key(rs.getBytes(1)), rs.getLong(2));
                    }
                }
                return out;
            } catch (SQLException e) {
                throw new IllegalStateException(dir + "/index.db: lookup failed: " + e.getMessage(), e);
            }
        }
    }

    /** {pack, offset, stored_len, raw_len, codec} or null. */
    private long[] lookup(byte[] sha) {
        synchronized (readDb) {
            try {
                if (lookupStmt == null) {
                    lookupStmt = readDb.prepareStatement("SELECT pack, offset, stored_len, raw_len, codec FROM blocks WHERE sha256=?");
                }
                PreparedStatement ps = lookupStmt;
                ps.setBytes(1, sha);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return null;
                    }
                    return new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5)};
                }
            } catch (SQLException e) {
                throw new IllegalStateException(dir + "/index.db: lookup failed: " + e.getMessage(), e);
            }
        }
    }

    // ---------------------------------------------------------------- writer

    /** A checked block waiting for the writer; {@code release} runs once the payload has been written or dropped. */
    private record PendingPut(Key key, PackRecord record, ByteBuffer[] payload, Runnable release,
            CompletableFuture<PutResult> future) {}

    private record WriterTask(java.util.concurrent.Callable<Object> body, CompletableFuture<Object> done) {}

    private void writerLoop() {
        List<PendingPut> batch = new ArrayList<>();
        while (true) {
            Object first;
            try {
                first = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (first == POISON) {
                return;
            }
            if (first instanceof WriterTask t) {
                try {
                    t.done().complete(t.body().call());
                } catch (Exception | Error e) {
                    t.done().completeExceptionally(e);
                }
                continue;
            }
            batch.clear();
            PendingPut p = (PendingPut) first;
            batch.add(p);
            long bytes = p.record().storedLength();
            while (bytes < options.maxBatchBytes() && queue.peek() instanceof PendingPut) {
                PendingPut q = (PendingPut) queue.poll();
                batch.add(q);
                bytes += q.record().storedLength();
            }
            try {
                writeBatch(batch);
            } finally {
                for (PendingPut q : batch) {
                    q.release().run();
                }
            }
        }
    }

    private void writeBatch(List<PendingPut> batch) {
        if (writerFailure != null) {
            for (PendingPut p : batch) {
                inflight.remove(p.key(), p.future());
                p.future().completeExceptionally(new DedupException(dir + ": store failed earlier: " + writerFailure.getMessage(), writerFailure));
            }
            return;
        }
        long batchSeq = seq.incrementAndGet();
        List<PendingPut> written = new ArrayList<>(batch.size());
        List<long[]> locs = new ArrayList<>(batch.size());
        List<PendingPut> dups = new ArrayList<>();
        Set<Key> inBatch = new HashSet<>();
        Set<Long> touchedPacks = new java.util.LinkedHashSet<>();
        long startPack = currentPackId;
        long startEnd = currentPack.end();
        try {
            Set<Key> present = presentInIndex(batch);
            for (PendingPut p : batch) {
                if (!inBatch.add(p.key()) || present.contains(p.key())) {
                    dups.add(p);
                    continue;
                }
                long[] loc = append(p.record(), p.payload(), touchedPacks);
                written.add(p);
                locs.add(loc);
            }
            touchedPacks.add(currentPackId);
            currentPack.force(); // packs sealed by a rotation in this batch were forced then
            indexRows(written, locs, batchSeq, touchedPacks);
        } catch (IOException | SQLException | RuntimeException e) {
            log.error("store write failed dir={} blocks={}: {}", dir, batch.size(), e.toString());
            IOException io = e instanceof IOException x ? x : new DedupException(dir + ": index write failed: " + e.getMessage(), e);
            try {
                if (currentPackId == startPack) {
                    currentPack.truncate(startEnd);
                } else {
                    writerFailure = io; // recovery on the next open sorts the packs out
                }
            } catch (IOException t) {
                writerFailure = io;
            }
            for (PendingPut p : batch) {
                inflight.remove(p.key(), p.future());
                p.future().completeExceptionally(io);
            }
            return;
        }
        for (int i = 0; i < written.size(); i++) {
            PendingPut p = written.get(i);
            inflight.remove(p.key(), p.future());
            PackRecord r = p.record();
            p.future().complete(new PutResult(r.rawLength(), r.storedLength(), r.codec(), false));
        }
        for (PendingPut p : dups) {
            long[] loc = lookup(p.key().sha);
            inflight.remove(p.key(), p.future());
            if (loc == null) {
                p.future().completeExceptionally(new DedupException(dir + ": block " + p.key() + " vanished"));
            } else {
                touch(p.key()); // a put of a stored block counts as asking about it (GC keeps it); sweeps run on this thread
                p.future().complete(new PutResult((int) loc[3], (int) loc[2], Codec.byId((int) loc[4]), true));
            }
        }
    }

    /**
     * Which blocks of a writer batch the index already holds, in queries of {@link #LOOKUP_BATCH}: one
     * query per key cost ~10 µs through JDBC, a quarter of a second in a full backup of 20,000 files.
     */
    private Set<Key> presentInIndex(List<PendingPut> batch) {
        Set<Key> present = new HashSet<>();
        List<byte[]> shas = new ArrayList<>(Math.min(batch.size(), LOOKUP_BATCH));
        for (int i = 0; i < batch.size(); i++) {
            shas.add(batch.get(i).key().sha);
            if (shas.size() == LOOKUP_BATCH || i == batch.size() - 1) {
                present.addAll(lookupAll(shas).keySet());
                shas.clear();
            }
        }
        return present;
    }

    /** Appends one record to the current pack (rotating when full); returns {pack, offset, stored, raw, codec}. */
    private long[] append(PackRecord r, ByteBuffer[] payload, Set<Long> touchedPacks) throws IOException, SQLException {
        long len = PackRecord.HEADER_BYTES + (long) r.storedLength();
        if (currentPack.end() + len > options.maxPackBytes() && currentPack.end() > PackFile.HEADER_BYTES) {
            touchedPacks.add(currentPackId);
            currentPack.force();
            newPack();
        }
        long at = currentPack.end();
        ByteBuffer[] parts = new ByteBuffer[payload.length + 1];
        parts[0] = r.encode();
        System.arraycopy(payload, 0, parts, 1, payload.length);
        currentPack.append(parts);
        return new long[] {currentPackId, at, r.storedLength(), r.rawLength(), r.codec().id()};
    }

    /** Registers a new pack in the index (committed), then creates its file with a header (fsynced, dir fsynced). */
    private void newPack() throws IOException, SQLException {
        long id = currentPackId + 1;
        try (PreparedStatement ps = writeDb.prepareStatement("INSERT INTO packs(id, indexed_end, state) VALUES (?,?,0)")) {
            ps.setLong(1, id);
            ps.setLong(2, PackFile.HEADER_BYTES);
            ps.executeUpdate();
        }
        Path f = packsDir.resolve(PackFile.fileName(id));
        FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
        PackAppender appender;
        try {
            ch.write(new PackFile(id).encode(), 0);
            ch.force(true);
            fsyncDir(packsDir);
            appender = PackAppender.open(f, ch, PackFile.HEADER_BYTES, options.bufferedPackWrites());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (currentPack != null) {
            currentPack.close();
        }
        currentPack = appender;
        currentPackId = id;
    }

    private void indexRows(List<PendingPut> written, List<long[]> locs, long batchSeq, Set<Long> packs) throws SQLException {
        writeDb.setAutoCommit(false);
        try {
            try (PreparedStatement ins = writeDb.prepareStatement(
                    "INSERT OR IGNORE INTO blocks(sha256, pack, offset, stored_len, raw_len, codec, seq) VALUES (?,?,?,?,?,?,?)")) {
                for (int i = 0; i < written.size(); i++) {
                    long[] l = locs.get(i);
                    ins.setBytes(1, written.get(i).key().sha);
                    ins.setLong(2, l[0]);
                    ins.setLong(3, l[1]);
                    ins.setLong(4, l[2]);
                    ins.setLong(5, l[3]);
                    ins.setLong(6, l[4]);
                    ins.setLong(7, batchSeq);
                    ins.addBatch();
                }
                ins.executeBatch();
            }
            try (PreparedStatement up = writeDb.prepareStatement("UPDATE packs SET indexed_end=? WHERE id=?")) {
                for (long id : packs) {
                    up.setLong(1, id == currentPackId ? currentPack.end() : sizeOf(id));
                    up.setLong(2, id);
                    up.addBatch();
                }
                up.executeBatch();
            }
            recordSeq(batchSeq);
            writeDb.commit();
        } catch (SQLException e) {
            writeDb.rollback();
            throw e;
        } finally {
            writeDb.setAutoCommit(true);
        }
    }

    private long sizeOf(long packId) {
        try {
            return Files.size(packsDir.resolve(PackFile.fileName(packId)));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Runs {@code body} on the writer thread between batches and waits for it. */
    private Object onWriter(java.util.concurrent.Callable<Object> body) throws IOException {
        checkWritable();
        CompletableFuture<Object> done = new CompletableFuture<>();
        queue.add(new WriterTask(body, done));
        try {
            return done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted waiting for the store writer");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof SQLException s) {
                throw new DedupException(dir + "/index.db: " + s.getMessage(), s);
            }
            throw new IllegalStateException(c);
        }
    }

    // ---------------------------------------------------------------- manifests

    /** A temporary file in the store for a manifest being received (deleted on open). */
    Path newTempFile(String prefix) throws IOException {
        return Files.createFile(tmpDir.resolve(prefix + "-" + ProcessHandle.current().pid() + "-" + tmpCounter.incrementAndGet() + ".parts"));
    }

    /**
     * Commits a manifest durably: every listed block must be present (else {@link MissingBlocksException}).
     * Re-committing identical contents succeeds without change; different contents under an existing id
     * are an {@link InvalidRequestException}.
     *
     * @param blocks the SHA-256s in backup order (streamed; not held in memory)
     */
    public ManifestInfo commitManifest(String backupId, Iterator<byte[]> blocks) throws IOException {
        checkWritable();
        ManifestFile.checkId(backupId);
        Path tmp = newTempFile("manifest");
        try {
            Digests.Digest listDigest = ManifestFile.sha256();
            long count = 0;
            long logical = 0;
            long missing = 0;
            List<String> firstMissing = new ArrayList<>();
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.allocate(1 << 16);
                ch.position(ManifestFile.HEADER_BYTES);
                List<byte[]> chunk = new ArrayList<>(LOOKUP_BATCH);
                while (blocks.hasNext() || !chunk.isEmpty()) {
                    if (blocks.hasNext() && chunk.size() < LOOKUP_BATCH) {
                        byte[] sha = blocks.next();
                        checkSha(sha);
                        if (++count > ManifestFile.MAX_BLOCKS) {
                            throw new LimitExceededException("manifest " + backupId + ": more than " + ManifestFile.MAX_BLOCKS + " blocks");
                        }
                        chunk.add(sha);
                        continue;
                    }
                    // one query per LOOKUP_BATCH hashes: a manifest of the 20,000 small files of a VM took
                    // ~0.4 s looked up one by one, most of it sqlite-jdbc's per-statement overhead
                    Map<Key, Long> found = presentAndTouchAll(chunk);
                    for (byte[] sha : chunk) {
                        Long raw = found.get(new Key(sha));
                        if (raw == null) {
                            if (missing++ < 5) {
                                firstMissing.add(hex(sha));
                            }
                        } else {
                            logical += raw;
                        }
                        listDigest.update(sha, 0, sha.length);
                        if (buf.remaining() < 32) {
                            buf.flip();
                            while (buf.hasRemaining()) {
                                ch.write(buf);
                            }
                            buf.clear();
                        }
                        buf.put(sha);
                    }
                    chunk.clear();
                }
                if (missing > 0) {
                    throw new MissingBlocksException("manifest " + backupId + ": " + missing + " of " + count
                            + " blocks are not in the store, first " + firstMissing, missing);
                }
                buf.flip();
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ManifestFile m = new ManifestFile(backupId, count, logical, System.currentTimeMillis(), listDigest.digest());
                ByteBuffer h = m.encodeHeader();
                Digests.Digest all = ManifestFile.sha256();
                all.update(h.duplicate());
                ch.write(h, 0);
                // trailer: SHA-256 of header + body; the body digest was computed as it streamed
                digestBody(tmp, count, all);
                ch.write(ByteBuffer.wrap(all.digest()), ManifestFile.HEADER_BYTES + count * 32);
                ch.force(true);
                Path dest = manifestsDir.resolve(backupId + ManifestFile.SUFFIX);
                synchronized (manifestsDir) {
                    if (Files.exists(dest)) {
                        ManifestFile old = ManifestFile.readHeader(dest, backupId);
                        if (old.blockCount() == count && Arrays.equals(old.listDigest(), m.listDigest())) {
                            return old.info();
                        }
                        throw new InvalidRequestException("manifest " + backupId + " already committed with different contents");
                    }
                    moveAtomic(tmp, dest);
                    fsyncDir(manifestsDir);
                }
                return m.info();
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void digestBody(Path tmp, long count, Digests.Digest d) throws IOException {
        // re-read the hash list just written (bounded: streamed in 64 KiB reads)
        try (InputStream in = new BufferedInputStream(Files.newInputStream(tmp), 1 << 16)) {
            in.skipNBytes(ManifestFile.HEADER_BYTES);
            byte[] buf = new byte[1 << 16];
            long left = count * 32;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new java.io.EOFException(tmp + ": short manifest body");
                }
                d.update(buf, 0, n);
                left -= n;
            }
        }
    }

    /** The committed manifests, sorted by backup id. */
    public List<ManifestInfo> listManifests() throws IOException {
        List<ManifestInfo> out = new ArrayList<>();
        for (Path p : list(manifestsDir)) {
            String name = p.getFileName().toString();
            if (name.endsWith(ManifestFile.SUFFIX)) {
                String id = name.substring(0, name.length() - ManifestFile.SUFFIX.length());
                out.add(ManifestFile.readHeader(p, id).info());
            }
        }
        out.sort((a, b) -> a.backupId().compareTo(b.backupId()));
        return out;
    }

    /** Streams a committed manifest's block hashes to {@code sink}, checking its checksum. */
    public ManifestInfo readManifest(String backupId, java.util.function.Consumer<byte[]> sink) throws IOException {
        ManifestFile.checkId(backupId);
        Path p = manifestsDir.resolve(backupId + ManifestFile.SUFFIX);
        if (!Files.exists(p)) {
            throw new InvalidRequestException("no manifest " + backupId + " in " + dir);
        }
        return ManifestFile.forEachBlock(p, backupId, sink).info();
    }

    /** Deletes a committed manifest (its blocks become garbage for the next GC unless shared). */
    public boolean deleteManifest(String backupId) throws IOException {
        checkWritable();
        ManifestFile.checkId(backupId);
        synchronized (manifestsDir) {
            boolean existed = Files.deleteIfExists(manifestsDir.resolve(backupId + ManifestFile.SUFFIX));
            fsyncDir(manifestsDir);
            return existed;
        }
    }

    // ---------------------------------------------------------------- maintenance

    /** Re-reads and re-hashes every indexed block and checks every manifest's blocks exist; reports damage by backup. */
    public VerifyReport verify() throws IOException {
        Set<Key> bad = new HashSet<>();
        List<String> lines = new ArrayList<>();
        long checked = 0;
        long bytes = 0;
        byte[] last = new byte[0];
        while (true) {
            List<Object[]> page = new ArrayList<>();
            synchronized (readDb) {
                try (PreparedStatement ps = readDb.prepareStatement("SELECT sha256, pack, offset, stored_len, raw_len, codec"
                        + " FROM blocks WHERE sha256 > ? ORDER BY sha256 LIMIT 1024")) {
                    ps.setBytes(1, last);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            page.add(new Object[] {rs.getBytes(1), new long[] {rs.getLong(2), rs.getLong(3), rs.getLong(4),
                                    rs.getLong(5), rs.getLong(6)}});
                        }
                    }
                } catch (SQLException e) {
                    throw new DedupException(dir + "/index.db: " + e.getMessage(), e);
                }
            }
            if (page.isEmpty()) {
                break;
            }
            for (Object[] row : page) {
                byte[] sha = (byte[]) row[0];
                long[] loc = (long[]) row[1];
                last = sha;
                checked++;
                bytes += loc[2];
                try {
                    load(sha);
                } catch (BlockNotFoundException e) {
                    checked--; // deleted by a concurrent GC since the page was read
                    bytes -= loc[2];
                } catch (DedupException e) {
                    bad.add(new Key(sha));
                    if (lines.size() < MAX_DAMAGE_LINES) {
                        lines.add(hex(sha) + " pack=" + loc[0] + " offset=0x" + Long.toHexString(loc[1]) + ": " + e.getMessage());
                    }
                }
            }
        }
        Map<String, Long> byBackup = new TreeMap<>();
        for (ManifestInfo m : listManifests()) {
            long[] n = {0};
            Set<Key> reportedMissing = new HashSet<>();
            try {
                readManifest(m.backupId(), sha -> {
                    Key k = new Key(sha);
                    if (bad.contains(k)) {
                        n[0]++;
                    } else if (lookup(sha) == null) {
                        n[0]++;
                        if (reportedMissing.add(k) && lines.size() < MAX_DAMAGE_LINES) {
                            lines.add(hex(sha) + ": missing, listed by backup " + m.backupId());
                        }
                    }
                });
            } catch (CorruptDataException e) {
                lines.add("manifest " + m.backupId() + ": " + e.getMessage());
                n[0] = Math.max(1, n[0]);
            }
            if (n[0] > 0) {
                byBackup.put(m.backupId(), n[0]);
            }
        }
        return new VerifyReport(checked, bytes, List.copyOf(lines), Map.copyOf(byBackup));
    }

    /**
     * Garbage collection, safe while backups run: marks every block listed by a committed manifest, by a
     * manifest being received, or asked about within {@link StoreOptions#gcGrace()}; deletes the index rows
     * of the rest that were written before GC started; rewrites packs that are mostly garbage.
     */
    public GcReport gc() throws IOException {
        checkWritable();
        synchronized (gcRunning) {
            long startSeq = seq.get() + 1; // blocks of batches that begin after this may be unreferenced yet
            Set<Key> live = new HashSet<>();
            for (ManifestInfo m : listManifests()) {
                try {
                    readManifest(m.backupId(), sha -> live.add(new Key(sha)));
                } catch (NoSuchFileException | InvalidRequestException e) {
                    // deleted meanwhile: its blocks are garbage
                }
            }
            for (Path p : list(tmpDir)) {
                markParts(p, live);
            }
            Object r = onWriter(() -> sweep(startSeq, live));
            return (GcReport) r;
        }
    }

    private static void markParts(Path p, Set<Key> live) {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(p), 1 << 16)) {
            byte[] sha;
            while ((sha = in.readNBytes(32)).length == 32) {
                live.add(new Key(sha));
            }
        } catch (IOException e) {
            // the session finished and deleted it meanwhile
        }
    }

    /** Runs on the writer thread: delete dead rows, then compact packs. */
    private GcReport sweep(long startSeq, Set<Key> live) throws IOException, SQLException {
        long cutoff = System.currentTimeMillis() - options.gcGrace().toMillis();
        long deleted = 0;
        long deletedRaw = 0;
        gcLock.writeLock().lock();
        try {
            for (Map.Entry<Key, Long> e : touched.entrySet()) {
                if (e.getValue() >= cutoff) {
                    live.add(e.getKey());
                }
            }
            for (Path p : list(tmpDir)) {
                markParts(p, live);
            }
            writeDb.setAutoCommit(false);
            try (PreparedStatement sel = writeDb.prepareStatement("SELECT sha256, raw_len FROM blocks WHERE seq < ?");
                    PreparedStatement del = writeDb.prepareStatement("DELETE FROM blocks WHERE sha256=?")) {
                sel.setLong(1, startSeq);
                List<byte[]> dead = new ArrayList<>();
                try (ResultSet rs = sel.executeQuery()) {
                    while (rs.next()) {
                        byte[] sha = rs.getBytes(1);
                        if (!live.contains(new Key(sha))) {
                            dead.add(sha);
                            deletedRaw += rs.getLong(2);
                        }
                    }
                }
                for (byte[] sha : dead) {
                    del.setBytes(1, sha);
                    del.addBatch();
                }
                del.executeBatch();
                writeDb.commit();
                deleted = dead.size();
            } catch (SQLException e) {
                writeDb.rollback();
                throw e;
            } finally {
                writeDb.setAutoCommit(true);
            }
        } finally {
            gcLock.writeLock().unlock();
        }
        // compaction: sealed packs only
        int rewritten = 0;
        long reclaimed = 0;
        Map<Long, Long> liveBytes = new HashMap<>();
        try (Statement s = writeDb.createStatement();
                ResultSet rs = s.executeQuery("SELECT pack, SUM(stored_len + " + PackRecord.HEADER_BYTES + ") FROM blocks GROUP BY pack")) {
            while (rs.next()) {
                liveBytes.put(rs.getLong(1), rs.getLong(2));
            }
        }
        List<Long> packIds = new ArrayList<>();
        try (Statement s = writeDb.createStatement(); ResultSet rs = s.executeQuery("SELECT id FROM packs WHERE state=0")) {
            while (rs.next()) {
                packIds.add(rs.getLong(1));
            }
        }
        for (long id : packIds) {
            if (id == currentPackId) {
                continue;
            }
            long size = sizeOf(id);
            long liveB = liveBytes.getOrDefault(id, 0L);
            long body = Math.max(1, size - PackFile.HEADER_BYTES);
            long deadPct = (body - liveB) * 100 / body;
            if (deadPct < options.compactDeadPercent()) {
                continue;
            }
            long startPack = currentPackId;
            long start = currentPack.end();
            try {
                compact(id);
            } catch (IOException | SQLException | RuntimeException e) {
                if (currentPackId == startPack && currentPack.end() > start) {
                    currentPack.truncate(start); // its copies were never indexed; drop them before the next batch
                }
                throw e;
            }
            rewritten++;
            reclaimed += size;
        }
        long liveCount;
        try (Statement s = writeDb.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM blocks")) {
            rs.next();
            liveCount = rs.getLong(1);
        }
        log.info("store gc dir={} deleted={} packsRewritten={} live={}", dir, deleted, rewritten, liveCount);
        return new GcReport(liveCount, deleted, deletedRaw, rewritten, reclaimed);
    }

    /** Copies a pack's live records to the current pack, re-points the index, then deletes the old pack. */
    private void compact(long id) throws IOException, SQLException {
        Path file = packsDir.resolve(PackFile.fileName(id));
        List<long[]> rows = new ArrayList<>();
        List<byte[]> shas = new ArrayList<>();
        try (PreparedStatement ps = writeDb.prepareStatement(
                "SELECT sha256, offset, stored_len FROM blocks WHERE pack=? ORDER BY offset")) {
            ps.setLong(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    shas.add(rs.getBytes(1));
                    rows.add(new long[] {rs.getLong(2), rs.getLong(3)});
                }
            }
        }
        Set<Long> touchedPacks = new java.util.LinkedHashSet<>();
        List<long[]> newLocs = new ArrayList<>();
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            for (int i = 0; i < rows.size(); i++) {
                long[] row = rows.get(i);
                ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(PackRecord.HEADER_BYTES + row[1]));
                readFully(in, b, row[0], file.toString());
                // copy as is (damage included: verify reports it; compaction never invents bytes)
                PackRecord r = PackRecord.parse(ByteBuffer.wrap(b.array()), file.toString(), row[0]);
                newLocs.add(append(r, new ByteBuffer[] {ByteBuffer.wrap(b.array(), PackRecord.HEADER_BYTES,
                        b.array().length - PackRecord.HEADER_BYTES)}, touchedPacks));
            }
        }
        touchedPacks.add(currentPackId);
        currentPack.force();
        writeDb.setAutoCommit(false);
        try (PreparedStatement up = writeDb.prepareStatement("UPDATE blocks SET pack=?, offset=? WHERE sha256=?");
                PreparedStatement end = writeDb.prepareStatement("UPDATE packs SET indexed_end=? WHERE id=?");
                PreparedStatement mark = writeDb.prepareStatement("UPDATE packs SET state=1 WHERE id=?")) {
            for (int i = 0; i < shas.size(); i++) {
                up.setLong(1, newLocs.get(i)[0]);
                up.setLong(2, newLocs.get(i)[1]);
                up.setBytes(3, shas.get(i));
                up.addBatch();
            }
            up.executeBatch();
            for (long p : touchedPacks) {
                end.setLong(1, p == currentPackId ? currentPack.end() : sizeOf(p));
                end.setLong(2, p);
                end.addBatch();
            }
            end.executeBatch();
            mark.setLong(1, id);
            mark.executeUpdate();
            writeDb.commit();
        } catch (SQLException e) {
            writeDb.rollback();
            throw e;
        } finally {
            writeDb.setAutoCommit(true);
        }
        gcLock.writeLock().lock();
        try {
            FileChannel r = readers.remove(id);
            if (r != null) {
                r.close();
            }
            Files.deleteIfExists(file);
            fsyncDir(packsDir);
            execute("DELETE FROM packs WHERE id=" + id);
        } finally {
            gcLock.writeLock().unlock();
        }
    }

    /** Counts blocks, bytes and manifests. */
    public StoreStats stats() throws IOException {
        long blocks;
        long raw;
        long stored;
        synchronized (readDb) {
            try (Statement s = readDb.createStatement();
                    ResultSet rs = s.executeQuery("SELECT COUNT(*), COALESCE(SUM(raw_len),0), COALESCE(SUM(stored_len),0) FROM blocks")) {
                rs.next();
                blocks = rs.getLong(1);
                raw = rs.getLong(2);
                stored = rs.getLong(3);
            } catch (SQLException e) {
                throw new DedupException(dir + "/index.db: " + e.getMessage(), e);
            }
        }
        long packFiles = 0;
        long packBytes = 0;
        for (Path p : list(packsDir)) {
            packFiles++;
            packBytes += Files.size(p);
        }
        long logical = 0;
        List<ManifestInfo> ms = listManifests();
        for (ManifestInfo m : ms) {
            logical += m.logicalBytes();
        }
        return new StoreStats(blocks, raw, stored, packFiles, packBytes, ms.size(), logical);
    }

    // ---------------------------------------------------------------- lifecycle and helpers

    /** Waits for queued writes, stops the threads, closes files. Idempotent. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (readOnly) {
            closeQuietly();
            return;
        }
        verifyPool.shutdown();
        try {
            verifyPool.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES);
            queue.add(POISON);
            writer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeQuietly();
    }

    private void closeQuietly() {
        for (FileChannel ch : readers.values()) {
            try {
                ch.close();
            } catch (IOException e) {
                // closing a read-only channel cannot lose data
            }
        }
        try {
            if (currentPack != null) {
                currentPack.close();
            }
        } catch (IOException e) {
            log.warn("store close pack failed: {}", e.toString());
        }
        for (Connection c : new Connection[] {writeDb, readDb}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (SQLException e) {
                log.warn("store close index failed: {}", e.toString());
            }
        }
        try {
            if (lock != null) {
                lock.release();
            }
            lockChannel.close();
        } catch (IOException e) {
            // the OS drops the lock with the process anyway
        }
    }

    private int execute(String sql) throws SQLException {
        try (Statement s = writeDb.createStatement()) {
            return s.executeUpdate(sql);
        }
    }

    private static Long parsePackName(String name) {
        if (!name.matches("pack-\\d{8,18}\\.pack")) {
            return null;
        }
        return Long.parseLong(name.substring(5, name.length() - 5));
    }

    private static List<Path> list(Path d) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
            for (Path p : ds) {
                out.add(p);
            }
        }
        out.sort(null);
        return out;
    }

    /**
     * The JDK reads into a heap buffer through a per-thread temporary direct buffer of the request's
     * size; a new one is zeroed and its pages faulted in (~2 ms per MiB on a virtual machine). Heap
     * buffers are read in slices of this size, so that buffer stays small and is made once per thread.
     */
    static final int HEAP_SLICE_BYTES = 256 << 10;

    static void readFully(FileChannel ch, ByteBuffer b, long pos, String file) throws IOException {
        long p = pos;
        int end = b.limit();
        try {
            while (b.position() < end) {
                b.limit(b.isDirect() ? end : Math.min(end, b.position() + HEAP_SLICE_BYTES));
                int n = ch.read(b, p);
                if (n < 0) {
                    throw new CorruptDataException(file + " at 0x" + Long.toHexString(p) + ": unexpected end of file, "
                            + (end - b.position()) + " more bytes expected");
                }
                p += n;
            }
        } finally {
            b.limit(end);
        }
    }

    static void fsyncDir(Path d) throws IOException {
        try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private static void moveAtomic(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new DedupException(to + ": the store's filesystem cannot rename atomically", e);
        }
    }

    private static void checkSha(byte[] sha) {
        if (sha == null || sha.length != 32) {
            throw new IllegalArgumentException("a SHA-256 is 32 bytes");
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
