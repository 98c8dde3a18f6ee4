package dev.coffer.agent.restore;

import dev.coffer.agent.restore.RestoreException.Code;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.zip.CRC32C;

/**
 * One file being restored in a {@link DirectoryTarget}: its partial file and resume journal in the
 * work directory, the set of ranges written, and the running SHA-256 of its content.
 *
 * <p>Hashing: the content hash ({@link ContentHasher}: SHA-256 or block-tree) is computed incrementally. A "hash cursor" marks how far
 * the content has been hashed; a chunk written exactly at the cursor is hashed from memory, and
 * chunks that arrived earlier but further on are then read back (from the page cache) as soon as
 * they become contiguous with the cursor. Whoever holds the hash lock advances the cursor; other
 * writers never wait for it ({@code tryLock}) and re-check after it is released, so nothing is left
 * behind. {@link #finishHash} at commit hashes whatever is still left. A write over bytes already
 * written (a chunk sent twice) marks the hash stale and commit re-hashes the whole file, so the
 * digest always describes the bytes on disk.
 *
 * <p>For the block-tree hash the expensive part, the SHA-256 of each block, is done by the writer of
 * a chunk that starts on a block boundary, from memory and in parallel with the other writers; the
 * cursor then takes each such block's 32-byte digest instead of its bytes, and reads back only what
 * no writer hashed. Without this, one thread hashed a large file's every byte in order.
 */
final class PartialFile implements Closeable {
    /** Read-back buffer for hashing chunks that arrived out of order. */
    private static final int READ_BACK_BYTES = 1 << 20;
    /**
     * Files smaller than this (1 MiB, one chunk of the restore pipeline) keep no resume journal: an
     * interrupted restore sends them again whole, at most 1 MiB each, while creating, appending to and
     * deleting a journal was a third of the file-system calls of restoring a small file
     * (docs/restore-target.md).
     */
    static final long JOURNAL_FROM_BYTES = 1L << 20;
    /** After this many bytes written, the data written so far is pushed to disk in the background. */
    static final long WRITE_BACK_BYTES = 8L << 20;
    /** The largest heap slice written in one call (see {@link #write}). */
    private static final int HEAP_SLICE_BYTES = 256 << 10;
    /**
     * When direct writes are asked for, files of at least this size (1 MiB, one chunk) are written with
     * direct I/O where the file system has it: see {@link #openDirect}. A smaller one is one short write,
     * and a second descriptor for it costs more than the copy it saves.
     */
    static final long DIRECT_FROM_BYTES = 1L << 20;
    /**
     * The least unit of a direct write: 64 KiB, the largest page size Linux runs with (arm64, ppc64). A
     * direct write and a buffered one (another chunk's unaligned tail, from another thread) then never
     * share a page, whose dirty copy in the page cache the kernel could not drop after the direct write.
     */
    static final int DIRECT_UNIT_BYTES = 64 << 10;
    /**
     * The largest direct write: 1 MiB, a whole chunk. Each is a request the disk completes before the call
     * returns, so fewer, larger ones keep it busier; the aligned buffer it is copied through is kept per
     * thread ({@link #stage}).
     */
    private static final int DIRECT_SLICE_BYTES = 1 << 20;
    /**
     * One thread for every open file's background write-backs: they are hints that keep the disk busy
     * while the pipeline runs, and the commit's (or close's) own fsync is what makes a file durable.
     */
    private static final ExecutorService WRITE_BACK = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "restore-writeback");
        t.setDaemon(true);
        return t;
    });

    final RestoreFile file;
    final String id;
    final SafeNames.MappedPath mapped;
    final Path dataPath;
    private final FileChannel data;
    /**
     * The same file opened with {@code O_DIRECT}, for the aligned part of each chunk, or null (a small
     * file, a file system without direct I/O, or after a direct write failed).
     */
    private volatile FileChannel direct;
    /** The unit {@link #direct} writes are aligned to: the file system's block size, at least {@link #DIRECT_UNIT_BYTES}. */
    private final int align;
    private final ResumeJournal journal;
    private final long syncEveryBytes;
    /** Writes take the read lock, commit/abort/close the write lock, so nothing writes to a closed channel. */
    final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    /** Set under the lifecycle write lock; read by anyone. */
    private volatile boolean closed;
    /** @GuardedBy("this") */
    private final RangeSet written = new RangeSet();
    /** @GuardedBy("this") */
    private boolean hashStale;
    private final ReentrantLock hashLock = new ReentrantLock();
    /** @GuardedBy("hashLock") */
    private final ContentHasher hasher;
    /** Bytes hashed so far; written under hashLock, read by anyone. */
    private volatile long hashCursor;
    /** @GuardedBy("hashLock") */
    private ByteBuffer readBack;
    /** Tree hash only: SHA-256s of blocks their writers hashed, by block offset, until the cursor takes them. */
    private final ConcurrentHashMap<Long, byte[]> blockDigests = new ConcurrentHashMap<>();
    private final AtomicLong unsyncedBytes = new AtomicLong();
    /** Bytes written since the last write-back was started (see {@link #startWriteBack}). */
    private final AtomicLong unflushedBytes = new AtomicLong();
    private final AtomicBoolean flushing = new AtomicBoolean();
    private volatile long lastUsedNanos = System.nanoTime();

    private PartialFile(RestoreFile file, String id, SafeNames.MappedPath mapped, Path dataPath, FileChannel data,
            FileChannel direct, int align, ResumeJournal journal, long syncEveryBytes) {
        this.file = file;
        this.id = id;
        this.mapped = mapped;
        this.dataPath = dataPath;
        this.data = data;
        this.direct = direct;
        this.align = align;
        this.journal = journal;
        this.syncEveryBytes = syncEveryBytes;
        this.hasher = new ContentHasher(file.blockBytes());
    }

    /**
     * Opens (creating or resuming) the partial file {@code dir/id.part} and, for a file of
     * {@link #JOURNAL_FROM_BYTES} or more, its journal {@code dir/id.journal}; ranges recorded in the
     * journal count as written only when the partial file's bytes still match their CRC-32C.
     */
    static PartialFile open(Path dir, String id, RestoreFile file, SafeNames.MappedPath mapped, long syncEveryBytes,
            boolean directWrites) throws IOException {
        Path dataPath = dir.resolve(id + ".part");
        List<ResumeJournal.Entry> entries = new ArrayList<>();
        ResumeJournal journal = file.size() >= JOURNAL_FROM_BYTES
                ? ResumeJournal.open(dir.resolve(id + ".journal"), file, entries) : null;
        FileChannel ch = null;
        FileChannel direct = null;
        try {
            ch = FileChannel.open(dataPath, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            if (entries.isEmpty()) {
                ch.truncate(0);
            }
            int align = 0;
            if (directWrites && file.size() >= DIRECT_FROM_BYTES) {
                align = alignment(dataPath);
                direct = align > 0 ? openDirect(dataPath) : null;
            }
            PartialFile p = new PartialFile(file, id, mapped, dataPath, ch, direct, align, journal, syncEveryBytes);
            p.verifyEntries(entries);
            return p;
        } catch (IOException | RuntimeException e) {
            if (direct != null) {
                direct.close();
            }
            if (journal != null) {
                journal.close();
            }
            if (ch != null) {
                ch.close();
            }
            throw e;
        }
    }

    /**
     * The unit direct writes are aligned to: the file system's block size where it is a power of two, but
     * at least {@link #DIRECT_UNIT_BYTES}; 0 where direct writes cannot be used.
     */
    private static int alignment(Path path) {
        try {
            long b = Files.getFileStore(path).getBlockSize();
            return b > 0 && b <= HEAP_SLICE_BYTES && Long.bitCount(b) == 1 ? (int) Math.max(b, DIRECT_UNIT_BYTES) : 0;
        } catch (IOException | UnsupportedOperationException e) {
            return 0;
        }
    }

    /**
     * Opens {@code path} for direct writes, or returns null where the file system refuses them (tmpfs).
     *
     * <p>Why one would: a restore writes each byte once and does not read it back. Through the page cache
     * the kernel copies every byte into a freshly allocated page, which on a test VM whose free pages had
     * been given back to the host cost ~2 ms per MiB: 2.3 s of the CPU of restoring the reference
     * workload's whole volume (1.1 GiB). Restored files written direct also do not push the host's cached
     * data out. Why it is not the default: each direct write waits for the disk, and ext4 takes an
     * extending direct write's inode lock exclusively, so one large file's writers queue one behind the
     * other; on a fresh VM a 50 MB file and a tree of large files restored faster through the page cache
     * (docs/restore-target.md, "Direct writes").
     */
    private static FileChannel openDirect(Path path) {
        try {
            return FileChannel.open(path, StandardOpenOption.WRITE, com.sun.nio.file.ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /** The verified ranges of a partial file that is not open, read from its journal (empty when none). */
    static List<ByteRange> verifiedOnDisk(Path dir, String id, RestoreFile file) throws IOException {
        List<ResumeJournal.Entry> entries = ResumeJournal.read(dir.resolve(id + ".journal"), file);
        RangeSet ok = new RangeSet();
        if (entries.isEmpty()) {
            return ok.toList();
        }
        Path dataPath = dir.resolve(id + ".part");
        if (!Files.exists(dataPath)) {
            return ok.toList();
        }
        try (FileChannel ch = FileChannel.open(dataPath, StandardOpenOption.READ)) {
            verify(ch, entries, ok);
        }
        return ok.toList();
    }

    private void verifyEntries(List<ResumeJournal.Entry> entries) throws IOException {
        synchronized (this) {
            verify(data, entries, written);
        }
    }

    private static void verify(FileChannel ch, List<ResumeJournal.Entry> entries, RangeSet into) throws IOException {
        ByteBuffer buf = null;
        long length = ch.size();
        for (ResumeJournal.Entry e : entries) {
            if (e.offset() + e.length() > length) {
                continue;
            }
            if (buf == null || buf.capacity() < e.length()) {
                buf = ByteBuffer.allocate(Math.max(e.length(), 1 << 20));
            }
            buf.clear().limit(e.length());
            long pos = e.offset();
            while (buf.hasRemaining()) {
                int n = ch.read(buf, pos);
                if (n < 0) {
                    break;
                }
                pos += n;
            }
            if (buf.hasRemaining()) {
                continue;
            }
            buf.flip();
            CRC32C crc = new CRC32C();
            crc.update(buf);
            if ((int) crc.getValue() == e.crc()) {
                into.add(e.offset(), e.length());
            }
        }
    }

    /**
     * Writes one chunk given as consecutive parts (a network buffer's components, written without
     * gathering them first): data, journal record, range, then advances the hash. Caller holds the
     * lifecycle read lock.
     */
    void write(long offset, ByteBuffer[] parts) throws IOException {
        lastUsedNanos = System.nanoTime();
        long total = 0;
        CRC32C crc = new CRC32C();
        for (ByteBuffer part : parts) {
            crc.update(part.duplicate());
            total += part.remaining();
        }
        if (total == 0) {
            return;
        }
        int length = Math.toIntExact(total);
        long pos = offset;
        for (ByteBuffer part : parts) {
            ByteBuffer d = part.duplicate();
            if (parts.length == 1) {
                pos += writeDirect(d, pos); // the aligned prefix, where it can be; the rest below
            }
            int end = d.limit();
            while (d.position() < end) {
                // heap parts in slices: the JDK copies them through a per-thread direct buffer of the
                // request's size, and each new one is zeroed and faulted in (~2 ms per MiB on a VM)
                d.limit(d.isDirect() ? end : Math.min(end, d.position() + HEAP_SLICE_BYTES));
                pos += data.write(d, pos);
            }
        }
        if (journal != null) {
            journal.append(offset, length, (int) crc.getValue());
        }
        // Before the range counts as written, so the cursor never reads back a block whose digest is on its way.
        boolean digested = hashBlocks(offset, parts, length);
        synchronized (this) {
            // Any rewrite (a retried chunk) may race with hashing of the first copy: re-hash at commit.
            if (written.overlaps(offset, length)) {
                hashStale = true;
            }
            written.add(offset, length);
        }
        advanceHash(digested ? null : parts, offset, length);
        startWriteBack(length);
        if (unsyncedBytes.addAndGet(length) >= syncEveryBytes) {
            unsyncedBytes.set(0);
            // Data first, then the journal: a record that reaches the disk before its data is caught by the CRC on resume.
            data.force(false);
            if (journal != null) {
                journal.force();
            }
        }
    }

    /**
     * Writes the whole {@link #align} units at the start of a heap buffer with direct I/O,
     * when {@code pos} is aligned and the file has a direct channel; returns the bytes written and leaves
     * the buffer's position after them. The bytes are copied through this thread's aligned buffer
     * ({@link #stage}), {@link #DIRECT_SLICE_BYTES} at a time. A direct write that fails
     * turns direct writes off for the file and writes nothing: the caller writes the bytes through the page
     * cache, which reports an error of the disk itself.
     */
    private int writeDirect(ByteBuffer d, long pos) {
        FileChannel ch = direct;
        if (ch == null || d.isDirect() || pos % align != 0 || d.remaining() < align) {
            return 0;
        }
        int start = d.position();
        int end = start + d.remaining() / align * align;
        int limit = d.limit();
        ByteBuffer stage = stage(align);
        long at = pos;
        try {
            while (d.position() < end) {
                d.limit(Math.min(end, d.position() + stage.capacity()));
                stage.clear();
                stage.put(d).flip();
                while (stage.hasRemaining()) {
                    at += ch.write(stage, at);
                }
            }
            return d.position() - start;
        } catch (IOException e) {
            direct = null;
            try {
                ch.close();
            } catch (IOException ignored) {
                // it was only for writing
            }
            d.position(start);
            return 0;
        } finally {
            d.limit(limit);
        }
    }

    /**
     * This thread's aligned direct buffer for direct writes, {@link #DIRECT_SLICE_BYTES} long. Not the
     * JDK's own: given a heap buffer, a direct channel copies it through a per-thread aligned buffer that
     * JDK 17 cannot replace when a larger write comes (a NullPointerException in {@code Util.free}).
     */
    private static ByteBuffer stage(int align) {
        Stage st = DIRECT_STAGE.get();
        if (st == null || st.align() % align != 0) {
            ByteBuffer b = ByteBuffer.allocateDirect(DIRECT_SLICE_BYTES + align).alignedSlice(align);
            st = new Stage(b.limit(DIRECT_SLICE_BYTES).slice(), align);
            DIRECT_STAGE.set(st);
        }
        return st.buffer();
    }

    /** A thread's aligned buffer and the alignment it was made for. */
    private record Stage(ByteBuffer buffer, int align) {}

    private static final ThreadLocal<Stage> DIRECT_STAGE = new ThreadLocal<>();

    /**
     * Every {@link #WRITE_BACK_BYTES}, starts an fdatasync of what was written so far on the write-back
     * thread (one at a time per file). Without it the page cache holds a large file's every byte until
     * the commit's fsync, which then waits for all of them to reach the disk (~50 ms for 50 MB here);
     * started early, the disk writes them while the pipeline is still downloading, and the final fsync
     * finds little left. A failure here is not reported: the final fsync reports it.
     */
    private void startWriteBack(int length) {
        if (unflushedBytes.addAndGet(length) < WRITE_BACK_BYTES || !flushing.compareAndSet(false, true)) {
            return;
        }
        unflushedBytes.set(0);
        try {
            WRITE_BACK.execute(new WriteBack(this));
        } catch (RejectedExecutionException e) {
            flushing.set(false);
        }
    }

    /**
     * One write-back of a file. A class, not a lambda: only files over {@link #WRITE_BACK_BYTES} start
     * one, which the launcher's training run does not restore, and a lambda the archive lacks is spun at
     * run time (the JDK's bytecode generator, a few ms of a one-file restore). The training run names
     * this class ({@code CdsTrainCommand}), so the archive has it.
     */
    private static final class WriteBack implements Runnable {
        private final PartialFile file;

        WriteBack(PartialFile file) {
            this.file = file;
        }

        @Override
        public void run() {
            try {
                if (!file.closed) {
                    file.data.force(false);
                }
            } catch (IOException e) {
                // closed meanwhile, or failing: the commit's own force says so
            } finally {
                file.flushing.set(false);
            }
        }
    }

    /**
     * Tree hash only: hashes the whole blocks of a chunk that starts on a block boundary (and the
     * content's last block when the chunk reaches the end) and files their digests for the cursor.
     * Returns whether the chunk was hashed so.
     */
    private boolean hashBlocks(long offset, ByteBuffer[] parts, int length) {
        int bb = file.blockBytes();
        if (bb == 0 || offset % bb != 0) {
            return false;
        }
        dev.coffer.dedup.Digests.Digest md = dev.coffer.dedup.Digests.sha256();
        int part = 0;
        ByteBuffer cur = parts.length > 0 ? parts[0].duplicate() : null;
        long end = offset + length;
        for (long block = offset; block < end; block += bb) {
            long blockEnd = Math.min(block + bb, file.size());
            if (blockEnd > end) {
                break; // a partial block: the cursor hashes its bytes
            }
            long need = blockEnd - block;
            while (need > 0) {
                while (!cur.hasRemaining()) {
                    cur = parts[++part].duplicate();
                }
                int n = (int) Math.min(need, cur.remaining());
                ByteBuffer slice = cur.slice().limit(n);
                md.update(slice);
                cur.position(cur.position() + n);
                need -= n;
            }
            blockDigests.put(block, md.digest());
        }
        return true;
    }

    private void advanceHash(ByteBuffer[] chunk, long offset, int length) throws IOException {
        ByteBuffer[] pending = chunk;
        while (true) {
            if (!hashLock.tryLock()) {
                return; // the holder re-checks after unlocking and picks our range up
            }
            try {
                if (pending != null && offset == hashCursor) {
                    for (ByteBuffer part : pending) {
                        hasher.update(part.duplicate());
                    }
                    hashCursor = offset + length;
                }
                pending = null;
                catchUpLocked();
            } finally {
                hashLock.unlock();
            }
            if (contiguousAtCursor() <= hashCursor) {
                return;
            }
        }
    }

    private synchronized long contiguousAtCursor() {
        return written.contiguousEnd(hashCursor);
    }

    /**
     * Hashes everything contiguous from the cursor: blocks their writers hashed by their digests, the
     * rest by reading it back. Caller holds hashLock.
     */
    private void catchUpLocked() throws IOException {
        int bb = file.blockBytes();
        long end;
        while ((end = contiguousAtCursor()) > hashCursor) {
            long pos = hashCursor;
            while (pos < end) {
                byte[] digest = bb > 0 && hasher.atBlockStart() ? blockDigests.remove(pos) : null;
                if (digest != null) {
                    hasher.updateBlockDigest(digest);
                    pos = Math.min(pos + bb, file.size());
                    hashCursor = pos;
                    continue;
                }
                if (readBack == null) {
                    readBack = ByteBuffer.allocate(READ_BACK_BYTES);
                }
                long upTo = bb > 0 ? Math.min(end, (pos / bb + 1) * bb) : end; // stop where a digest may take over
                readBack.clear().limit((int) Math.min(READ_BACK_BYTES, upTo - pos));
                int n = data.read(readBack, pos);
                if (n <= 0) {
                    throw new IOException("partial file " + dataPath + " shorter than written range at " + pos);
                }
                readBack.flip();
                hasher.update(readBack);
                pos += n;
                hashCursor = pos;
            }
        }
    }

    /** Whether chunks go to the disk past the page cache (their aligned parts). */
    boolean writesDirect() {
        return direct != null;
    }

    /** The written ranges, in order. */
    synchronized List<ByteRange> writtenRanges() {
        return written.toList();
    }

    synchronized boolean complete() {
        return written.covers(file.size());
    }

    /** Finishes hashing (re-hashing from the start if a chunk was written twice) and returns the digest. Caller holds the lifecycle write lock. */
    byte[] finishHash() throws IOException {
        hashLock.lock();
        try {
            boolean stale;
            synchronized (this) {
                stale = hashStale;
                hashStale = false;
            }
            if (stale) {
                hasher.reset();
                hashCursor = 0;
                blockDigests.clear(); // hashed from memory, maybe not what the second write left on disk
            }
            catchUpLocked();
            if (hashCursor != file.size()) {
                throw new RestoreException(Code.INCOMPLETE, "partial file " + dataPath + " for " + file.displayName()
                        + ": hashed " + hashCursor + " bytes, expected " + file.size());
            }
            return hasher.digest();
        } finally {
            hashLock.unlock();
        }
    }

    /** Cuts any bytes past the size and, when asked, forces the data to disk. */
    void truncate(boolean force) throws IOException {
        if (data.size() > file.size()) {
            data.truncate(file.size());
        }
        if (force) {
            data.force(true);
        }
    }

    long idleNanos() {
        return System.nanoTime() - lastUsedNanos;
    }

    boolean isClosed() {
        return closed;
    }

    /** Closes the channels (the files stay). Caller holds the lifecycle write lock. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            FileChannel ch = direct;
            direct = null;
            if (ch != null) {
                ch.close();
            }
            data.close();
        } finally {
            if (journal != null) {
                journal.close();
            }
        }
    }

    /** Closes and deletes the partial file and journal. Caller holds the lifecycle write lock. */
    void discard() throws IOException {
        close();
        Files.deleteIfExists(dataPath);
        deleteJournal();
    }

    /** Deletes the journal after the data file has been moved into place. */
    void deleteJournal() throws IOException {
        if (journal != null) {
            Files.deleteIfExists(journal.path());
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
