package dev.coffer.agent.backup;

import dev.coffer.catalog.Block;
import dev.coffer.catalog.BlockRef;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.FileIngest;
import dev.coffer.catalog.FileKind;
import dev.coffer.catalog.IngestResult;
import dev.coffer.catalog.LiveVersion;
import dev.coffer.catalog.StreamRecord;
import dev.coffer.dedup.BlockHash;
import dev.coffer.dedup.BlockHasher;
import dev.coffer.ntfs.ClusterRange;
import dev.coffer.ntfs.FileName;
import dev.coffer.ntfs.FileRecord;
import dev.coffer.ntfs.NtfsVolume;
import dev.coffer.ntfs.Run;
import dev.coffer.ntfs.StandardInformation;
import dev.coffer.ntfs.StreamInfo;
import dev.coffer.ntfs.StreamReader;
import dev.coffer.ntfs.VolumeTree;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Backs up one NTFS volume the file-aware way (see {@code docs/backup.md}): every stream of every
 * record cut into blocks by its own offset, unchanged records carried forward from the previous
 * backup by fingerprint, and the clusters that plain streams do not reproduce kept as a raw region.
 */
final class NtfsVolumeBackup {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NtfsVolumeBackup.class);
    /** Resident and compressed content is hashed on the calling thread; at most this much waits for the sink. */
    private static final long INLINE_BYTES_IN_FLIGHT = 64L << 20;

    /** What the backup of one volume did. */
    record Result(long files, IngestResult ingest, long rawRegionBytes) {}

    private final BackupContext ctx;
    private final NtfsVolume vol;
    private final long volumeOffset;
    private final long volumeLength;
    private final long volumeId;
    private final long diskId;
    private final long cs;
    private final List<long[]> coverage = new ArrayList<>();
    private final List<CompletableFuture<Void>> inline = new ArrayList<>();
    private long inlineBytes;
    private FileIngest ingest;
    /** The catalog writer: one thread, so SQLite never runs on the readers' or the destination's threads. */
    private final java.util.concurrent.ExecutorService ingestThread = java.util.concurrent.Executors.newSingleThreadExecutor(
            r -> {
                Thread t = new Thread(r, "backup-catalog");
                t.setDaemon(true);
                return t;
            });
    private final java.util.concurrent.atomic.AtomicReference<Throwable> ingestFailure =
            new java.util.concurrent.atomic.AtomicReference<>();
    /**
     * Catalog work handed to the catalog thread {@value} files at a time: one hand-off per file woke that
     * thread ~20,000 times in a full backup of the reference workload (~90 ms of CPU in futex calls).
     */
    private static final int INGEST_BATCH = 64;
    /** Work queued by {@link #ingestLater} and not yet handed over; guarded by itself, handed over in order. */
    private final List<IngestWork> pendingIngest = new ArrayList<>(INGEST_BATCH);

    NtfsVolumeBackup(BackupContext ctx, NtfsVolume vol, long volumeOffset, long volumeLength, long volumeId,
            long diskId) {
        this.ctx = ctx;
        this.vol = vol;
        this.volumeOffset = volumeOffset;
        this.volumeLength = volumeLength;
        this.volumeId = volumeId;
        this.diskId = diskId;
        this.cs = vol.info().clusterSize();
    }

    Result run(OptionalLong previousBackup) throws IOException {
        Catalog catalog = ctx.catalog();
        long t0 = System.nanoTime();
        // the MFT walk (volume reads) and the previous versions (catalog reads) side by side
        CompletableFuture<VolumeTree> walk = new CompletableFuture<>();
        Thread walker = new Thread(() -> {
            try {
                walk.complete(vol.tree());
            } catch (IOException | RuntimeException | Error e) {
                walk.completeExceptionally(e);
            }
        }, "ntfs-tree");
        walker.setDaemon(true);
        walker.start();
        Map<String, LiveVersion> previous = new HashMap<>();
        if (previousBackup.isPresent()) {
            try {
                catalog.forEachLiveVersion(volumeId, previousBackup.getAsLong(), v -> previous.put(v.path(), v));
            } catch (IOException | RuntimeException e) {
                walk.handle((t, x) -> null).join(); // the walk reads the disk the caller closes next
                throw e;
            }
        }
        VolumeTree tree;
        try {
            tree = walk.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("backup cancelled");
        } catch (java.util.concurrent.ExecutionException e) {
            throw dev.coffer.agent.Causes.io(e);
        }
        log.debug("volume phase=tree records={} previous={} ms={}", tree.records().size(), previous.size(),
                (System.nanoTime() - t0) / 1_000_000);
        List<FileRecord> records = inDiskOrder(tree.records());
        long files = 0;
        ingest = catalog.ingest(ctx.backupId(), volumeId);
        try {
            for (FileRecord f : records) {
                ctx.checkCancelled();
                List<String> paths = pathsOf(tree, f);
                long fp = fingerprint(f);
                boolean meta = tree.metafile(f);
                // an orphan's clusters stay in the raw region: a rebuild walks the tree, not the MFT
                boolean orphan = tree.paths(f).isEmpty() && f.mftRecordNumber() != FileRecord.ROOT;
                if (orphan && f.mftRecordNumber() < FileRecord.FIRST_USER_RECORD) {
                    continue;   // the reserved, nameless records 12-15: nothing a restore could want
                }
                files += paths.size();
                if (!meta && !orphan && !ctx.reread() && carry(f, paths, fp, previous)) {
                    continue;
                }
                // metafiles change without their times moving: they are always read, and carried
                // forward afterwards when their content turns out unchanged; with --full every file is
                List<LiveVersion> byContent = null;
                if (meta || orphan || ctx.reread()) {
                    byContent = new ArrayList<>(paths.size());
                    for (String p : paths) {
                        byContent.add(previous.get(p));
                    }
                }
                LiveVersion before = ctx.changed() == null || paths.isEmpty() ? null : previous.get(paths.get(0));
                if (before != null && before.mftRecord() != f.mftRecordNumber()) {
                    before = null;
                }
                backupRecord(f, paths, fp, !orphan, byContent, meta || orphan, before);
            }
            log.debug("volume phase=submitted ms={}", (System.nanoTime() - t0) / 1_000_000);
            ctx.pipeline().finish();
            joinInline(0);
            log.debug("volume phase=hashed ms={}", (System.nanoTime() - t0) / 1_000_000);
            IngestResult ir = onIngestThread(() -> ingest.finish());
            log.debug("volume phase=ingested ms={}", (System.nanoTime() - t0) / 1_000_000);
            long raw = rawRegion();
            log.debug("volume phase=raw ms={}", (System.nanoTime() - t0) / 1_000_000);
            return new Result(files, ir, raw);
        } finally {
            try {
                onIngestThread(() -> {
                    ingest.close();
                    return null;
                });
            } finally {
                ingestThread.shutdown();
            }
        }
    }

    /** Runs {@code work} on the catalog thread after everything queued before it, and rethrows its failure. */
    private <T> T onIngestThread(java.util.concurrent.Callable<T> work) throws IOException {
        try {
            java.util.concurrent.Future<T> done;
            synchronized (pendingIngest) {
                handOverIngest();
                done = ingestThread.submit(work);
            }
            T v = done.get();
            Throwable f = ingestFailure.get();
            if (f != null) {
                throw f instanceof IOException io ? io : new IOException(f.getMessage(), f);
            }
            return v;
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("backup cancelled");
        }
    }

    /** Queues catalog work; a failure is kept and rethrown by the next {@link #onIngestThread}. */
    private void ingestLater(IngestWork work) {
        synchronized (pendingIngest) {
            pendingIngest.add(work);
            if (pendingIngest.size() >= INGEST_BATCH) {
                handOverIngest();
            }
        }
    }

    /** Hands the queued work to the catalog thread as one task (under the {@link #pendingIngest} lock). */
    private void handOverIngest() {
        if (pendingIngest.isEmpty()) {
            return;
        }
        IngestWork[] batch = pendingIngest.toArray(new IngestWork[0]);
        pendingIngest.clear();
        ingestThread.execute(new IngestBatch(batch));
    }

    /** Runs handed-over work in order until one fails. */
    private final class IngestBatch implements Runnable {
        private final IngestWork[] work;

        IngestBatch(IngestWork[] work) {
            this.work = work;
        }

        @Override
        public void run() {
            for (IngestWork w : work) {
                if (ingestFailure.get() != null) {
                    return;
                }
                try {
                    w.run();
                } catch (Throwable e) {
                    ingestFailure.compareAndSet(null, e);
                    ctx.pipeline().cancel(e);
                }
            }
        }
    }

    private interface IngestWork {
        void run() throws IOException;
    }

    /**
     * The records by their first cluster, so reads sweep the volume once. Each key is computed once:
     * a comparator that walked the runs on every comparison cost ~50 ms for 20,000 records.
     */
    private static List<FileRecord> inDiskOrder(java.util.Collection<FileRecord> records) {
        record Keyed(long firstLcn, FileRecord record) {}
        List<Keyed> keyed = new ArrayList<>(records.size());
        for (FileRecord f : records) {
            keyed.add(new Keyed(firstLcn(f), f));
        }
        keyed.sort(Comparator.comparingLong(Keyed::firstLcn)); // stable: resident files stay in MFT order
        List<FileRecord> out = new ArrayList<>(keyed.size());
        for (Keyed k : keyed) {
            out.add(k.record());
        }
        return out;
    }

    private static long firstLcn(FileRecord f) {
        for (StreamInfo s : f.streams()) {
            for (Run r : s.runs()) {
                if (!r.sparse()) {
                    return r.lcn();
                }
            }
        }
        return Long.MAX_VALUE;
    }

    private static List<String> pathsOf(VolumeTree tree, FileRecord f) {
        List<String> paths = tree.paths(f);
        if (!paths.isEmpty()) {
            List<String> out = new ArrayList<>(paths.size());
            for (String p : paths) {
                out.add(p.startsWith("/") ? p : "/" + p);
            }
            return out;
        }
        // an orphan: where fls puts it, so it is still found and restorable
        FileName n = f.primaryName();
        return List.of("/$OrphanFiles/" + (n != null ? n.name() : "record-" + f.mftRecordNumber()));
    }

    /** Carries every path of an unchanged record forward; false when any path is new or changed. */
    private boolean carry(FileRecord f, List<String> paths, long fp, Map<String, LiveVersion> previous) {
        List<LiveVersion> prev = new ArrayList<>(paths.size());
        for (String p : paths) {
            LiveVersion v = previous.get(p);
            if (v == null || (v.fingerprint() & ~1L) != fp || v.mftRecord() != f.mftRecordNumber()) {
                return false;
            }
            prev.add(v);
        }
        boolean zeroTails = (prev.get(0).fingerprint() & 1L) != 0;
        ingestLater(() -> {
            for (LiveVersion v : prev) {
                ingest.carry(v.versionId());
            }
        });
        synchronized (coverage) {
            for (StreamInfo s : f.dataStreams()) {
                if (plain(s)) {
                    cover(s, zeroTails);
                }
            }
        }
        ctx.counters().bytesCarried.addAndGet(f.dataStreams().stream().mapToLong(StreamInfo::size).sum());
        return true;
    }

    /** Non-resident, not compressed: the clusters through the runs are the content. */
    private static boolean plain(StreamInfo s) {
        return !s.resident() && !s.compressed();
    }

    /** Marks the clusters of a plain stream that its content rebuilds exactly. */
    private void cover(StreamInfo s, boolean withTail) {
        long valid = Math.min(s.initializedSize(), s.size());
        long full = valid / cs;
        if (withTail && valid == s.size() && valid % cs != 0) {
            full++;
        }
        for (Run r : s.runs()) {
            if (r.sparse() || r.vcn() >= full) {
                continue;
            }
            long n = Math.min(r.clusterCount(), full - r.vcn());
            coverage.add(new long[] {r.lcn(), n});
        }
    }

    /**
     * Reads, hashes and catalogs a new or changed record. With {@code before} (the path's version in the
     * previous backup, same MFT record) and known changed ranges, blocks whose clusters are the same and
     * unchanged since are taken from {@code before} instead of read ({@link #unchangedBlocks}).
     */
    private void backupRecord(FileRecord f, List<String> paths, long fp, boolean coverable, List<LiveVersion> byContent,
            boolean contentInFingerprint, LiveVersion before) throws IOException {
        List<StreamInfo> streams = f.dataStreams();
        Map<String, StreamRecord> prior = null;
        RecordWork w = new RecordWork(f, paths, fp, streams.size(), byContent, contentInFingerprint);
        if (streams.isEmpty()) {
            w.finishIfDone();
            return;
        }
        for (int i = 0; i < streams.size(); i++) {
            StreamInfo s = streams.get(i);
            int index = i;
            if (plain(s)) {
                long size = s.size();
                List<dev.coffer.agent.backup.BlockTask> tasks = Planner.stream(s.runs(), cs, volumeOffset, size,
                        s.initializedSize(), ctx.blockBytes());
                long tailEnd = tailEnd(s);
                if (before != null && tasks.size() > 1 && prior == null) {
                    prior = ctx.catalog().streamsOf(before.versionId());
                }
                BlockResult[] unchanged = prior == null ? null : unchangedBlocks(s, tasks, prior.get(s.name()));
                ctx.pipeline().submit(toRead(tasks, unchanged), tailEnd, read -> {
                    List<BlockResult> results = merge(unchanged, read);
                    boolean zero = tailEnd <= 0 || results.isEmpty() || results.get(results.size() - 1).zeroTail();
                    if (coverable) {
                        synchronized (coverage) {
                            cover(s, zero);
                        }
                    }
                    w.streamDone(index, new StreamRecord(s.name(), size, refs(results), runs(s), s.initializedSize()), zero);
                });
            } else {
                // no initialized size: its clusters are not its content, so no later backup compares them
                w.streamDone(index, new StreamRecord(s.name(), s.size(), readInline(f, s), runs(s)), true);
            }
        }
    }

    /**
     * Which blocks of a changed plain stream need no reading, each as the previous backup's result:
     * those (but the last) that cut to the very same pieces of the disk (same clusters, same zeros)
     * from the stream as it is and from the stream as the previous backup cataloged it, and whose
     * clusters lie outside every range written since ({@link BackupContext#changed}). Null entries are
     * read. Null when nothing can be told: no previous stream, or one cataloged without an initialized
     * size (resident or compressed then, whose clusters are not its content, or cataloged before schema
     * 3), or runs that do not start at VCN 0 or leave gaps.
     */
    private BlockResult[] unchangedBlocks(StreamInfo s, List<BlockTask> tasks, StreamRecord prior) {
        if (prior == null || prior.initialized() < 0 || !contiguous(s.runs())) {
            return null;
        }
        List<Run> priorRuns = new ArrayList<>(prior.runs().size());
        long vcn = 0;
        for (dev.coffer.catalog.Run r : prior.runs()) {
            priorRuns.add(new Run(vcn, r.lcn() == dev.coffer.catalog.Run.SPARSE ? Run.SPARSE : r.lcn(), r.clusterCount()));
            vcn += r.clusterCount();
        }
        List<BlockTask> old = Planner.stream(priorRuns, cs, volumeOffset, prior.size(), prior.initialized(),
                ctx.blockBytes());
        Map<Long, Block> oldBlocks = new HashMap<>(prior.blocks().size() * 2);
        for (BlockRef b : prior.blocks()) {
            oldBlocks.put(b.offset(), b.block());
        }
        BlockResult[] out = new BlockResult[tasks.size()];
        int found = 0;
        for (int i = 0; i < tasks.size() - 1 && i < old.size(); i++) {
            BlockTask t = tasks.get(i);
            Block b = oldBlocks.get(t.offset());
            if (!t.equals(old.get(i)) || b == null || b.sizeBytes() != t.length() || written(t)) {
                continue;
            }
            out[i] = new BlockResult(t.offset(), t.length(), new BlockHash(b.sha256(), b.md5()), false);
            found++;
            ctx.counters().bytesCarried.addAndGet(t.length());
        }
        return found == 0 ? null : out;
    }

    /** Whether any of the block's disk bytes may have been written since the previous backup. */
    private boolean written(BlockTask t) {
        for (Piece p : t.pieces()) {
            if (!p.zeros() && ctx.changed().overlaps(p.diskOffset(), p.diskOffset() + p.length())) {
                return true;
            }
        }
        return false;
    }

    /** Runs that start at VCN 0 and follow each other without a gap (what the catalog's run lists assume). */
    private static boolean contiguous(List<Run> runs) {
        long vcn = 0;
        for (Run r : runs) {
            if (r.vcn() != vcn) {
                return false;
            }
            vcn += r.clusterCount();
        }
        return true;
    }

    /** The tasks {@code unchanged} has no result for (all of them when it is null). */
    private static List<BlockTask> toRead(List<BlockTask> tasks, BlockResult[] unchanged) {
        if (unchanged == null) {
            return tasks;
        }
        List<BlockTask> out = new ArrayList<>();
        for (int i = 0; i < tasks.size(); i++) {
            if (unchanged[i] == null) {
                out.add(tasks.get(i));
            }
        }
        return out;
    }

    /** The stream's results in order: the unchanged blocks' and, in their places, those read. */
    private static List<BlockResult> merge(BlockResult[] unchanged, List<BlockResult> read) {
        if (unchanged == null) {
            return read;
        }
        List<BlockResult> out = new ArrayList<>(unchanged.length);
        int r = 0;
        for (BlockResult u : unchanged) {
            out.add(u != null ? u : read.get(r++));
        }
        return out;
    }

    /**
     * The disk offset of the end of the cluster holding a plain stream's last byte, when the stream
     * ends inside that cluster (so its slack is checked); 0 when there is nothing to check.
     */
    private long tailEnd(StreamInfo s) {
        long size = s.size();
        if (size == 0 || size % cs == 0 || s.initializedSize() < size) {
            return 0;
        }
        long lastVcn = (size - 1) / cs;
        for (Run r : s.runs()) {
            if (lastVcn >= r.vcn() && lastVcn < r.vcn() + r.clusterCount()) {
                if (r.sparse() || cs - size % cs > ctx.tailAllowance()) {
                    return 0;
                }
                return volumeOffset + (r.lcn() + lastVcn - r.vcn() + 1) * cs;
            }
        }
        return 0;
    }

    /** Resident or compressed content, read through the NTFS reader and hashed on this thread. */
    private List<BlockRef> readInline(FileRecord f, StreamInfo s) throws IOException {
        StreamReader reader = vol.open(f, s);
        BlockHasher hasher = BlockHasher.forThread();
        List<BlockRef> refs = new ArrayList<>();
        for (long off = 0; off < s.size(); off += ctx.blockBytes()) {
            int n = (int) Math.min(ctx.blockBytes(), s.size() - off);
            ByteBuffer buf = ByteBuffer.allocate(n);
            reader.readFully(off, buf);
            buf.flip();
            BlockHash h = hasher.hash(buf.duplicate());
            ctx.counters().bytesRead.addAndGet(n);
            refs.add(new BlockRef(off, new Block(h.sha256(), h.md5(), n)));
            joinInline(INLINE_BYTES_IN_FLIGHT - n);
            inline.add(ctx.sink().offer(h, buf));
            inlineBytes += n;
        }
        return refs;
    }

    /** Waits for inline blocks until at most {@code limit} bytes of them are in flight. */
    private void joinInline(long limit) throws IOException {
        if (inlineBytes <= limit) {
            return;
        }
        try {
            CompletableFuture.allOf(inline.toArray(CompletableFuture[]::new)).join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
        inline.clear();
        inlineBytes = 0;
    }

    private static List<BlockRef> refs(List<BlockResult> results) {
        List<BlockRef> refs = new ArrayList<>(results.size());
        for (BlockResult r : results) {
            refs.add(new BlockRef(r.offset(), new Block(r.hash().sha256(), r.hash().md5(), r.length())));
        }
        return refs;
    }

    private static List<dev.coffer.catalog.Run> runs(StreamInfo s) {
        List<dev.coffer.catalog.Run> out = new ArrayList<>(s.runs().size());
        for (Run r : s.runs()) {
            out.add(new dev.coffer.catalog.Run(r.sparse() ? dev.coffer.catalog.Run.SPARSE : r.lcn(), r.clusterCount()));
        }
        return out;
    }

    /** Collects one record's streams as they finish and catalogs it when the last one is done. */
    private final class RecordWork {
        private final FileRecord f;
        private final List<String> paths;
        private final long fp;
        private final StreamRecord[] streams;
        private final AtomicInteger remaining;
        private final AtomicBoolean zeroTails = new AtomicBoolean(true);
        /**
         * For records read whatever their fingerprint says (metafiles, orphans, every file with
         * {@code --full}): the previous versions, to carry forward when the content is unchanged.
         */
        private final List<LiveVersion> byContent;
        /**
         * Whether the cataloged fingerprint covers the content too (metafiles and orphans: their times do
         * not move, so only the content can tell). Other files keep the plain fingerprint the next
         * backup's {@link #carry} compares, and their content is compared with the previous version's.
         */
        private final boolean contentInFingerprint;

        RecordWork(FileRecord f, List<String> paths, long fp, int streamCount, List<LiveVersion> byContent,
                boolean contentInFingerprint) {
            this.f = f;
            this.paths = paths;
            this.fp = fp;
            this.byContent = byContent;
            this.contentInFingerprint = contentInFingerprint;
            this.streams = new StreamRecord[streamCount];
            this.remaining = new AtomicInteger(streamCount);
        }

        void streamDone(int index, StreamRecord s, boolean zeroTail) {
            streams[index] = s;
            if (!zeroTail) {
                zeroTails.set(false);
            }
            if (remaining.decrementAndGet() == 0) {
                finishIfDone();
            }
        }

        void finishIfDone() {
            StandardInformation si = f.standardInformation();
            FileKind kind = f.directory() ? FileKind.DIRECTORY : f.link() ? FileKind.SYMLINK : FileKind.FILE;
            List<StreamRecord> list = List.of(streams);
            long fingerprint = (contentInFingerprint ? withContent(fp, list) : fp) | (zeroTails.get() ? 1L : 0L);
            long parent = f.primaryName() != null ? f.primaryName().parentRecordNumber() : 0;
            ingestLater(() -> {
                if (byContent != null && byContent.stream().allMatch(v -> v != null && v.fingerprint() == fingerprint
                        && v.mftRecord() == f.mftRecordNumber())
                        && (contentInFingerprint || (!byContent.isEmpty() && sameStreams(byContent.get(0).versionId(), list)))) {
                    for (LiveVersion v : byContent) {
                        ingest.carry(v.versionId());
                    }
                    return;
                }
                for (String p : paths) {
                    ingest.add(new dev.coffer.catalog.FileRecord(p, f.mftRecordNumber(), f.sequenceNumber(), parent,
                            kind, f.size(), nanos(si == null ? null : si.created()),
                            nanos(si == null ? null : si.modified()), nanos(si == null ? null : si.mftModified()),
                            nanos(si == null ? null : si.accessed()), f.fileAttributes(), fingerprint, list));
                }
            });
        }
    }

    /** Whether a version was cataloged with exactly these streams: sizes, blocks, runs, initialized sizes. */
    private boolean sameStreams(long versionId, List<StreamRecord> streams) throws IOException {
        Map<String, StreamRecord> before = ctx.catalog().streamsOf(versionId);
        if (before.size() != streams.size()) {
            return false;
        }
        for (StreamRecord s : streams) {
            if (!s.equals(before.get(s.name()))) {
                return false;
            }
        }
        return true;
    }

    static long nanos(Instant t) {
        if (t == null) {
            return 0;
        }
        try {
            return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000_000L), t.getNano());
        } catch (ArithmeticException e) {
            return t.getEpochSecond() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }

    /**
     * What decides "unchanged": sequence number, names, $STANDARD_INFORMATION times and flags, and
     * every stream's sizes, flags and runs. The low bit is left clear; the engine stores there
     * whether every plain stream's slack was zero.
     */
    static long fingerprint(FileRecord f) {
        long h = 0x2545F4914F6CDD1DL;
        h = mix(h, f.sequenceNumber());
        h = mix(h, f.directory() ? 1 : 0);
        for (FileName n : f.names()) {
            h = mix(h, n.parentRecordNumber());
            h = mix(h, n.name().hashCode());
        }
        StandardInformation si = f.standardInformation();
        if (si != null) {
            h = mix(h, nanos(si.created()));
            h = mix(h, nanos(si.modified()));
            h = mix(h, nanos(si.mftModified()));
            h = mix(h, si.fileAttributes());
        }
        for (StreamInfo s : f.streams()) {
            h = mix(h, s.attributeType());
            h = mix(h, s.name().hashCode());
            h = mix(h, s.size());
            h = mix(h, s.initializedSize());
            h = mix(h, s.allocatedSize());
            h = mix(h, (s.resident() ? 1 : 0) | (s.compressed() ? 2 : 0) | (s.sparse() ? 4 : 0) | (s.encrypted() ? 8 : 0));
            for (Run r : s.runs()) {
                h = mix(h, r.vcn());
                h = mix(h, r.lcn());
                h = mix(h, r.clusterCount());
            }
        }
        return h & ~1L;
    }

    /** A fingerprint that also covers the content: every block's SHA-256, in order. */
    static long withContent(long fp, List<StreamRecord> streams) {
        long h = fp;
        for (StreamRecord s : streams) {
            for (BlockRef b : s.blocks()) {
                byte[] sha = b.block().sha256();
                for (int i = 0; i < 32; i += 8) {
                    h = mix(h, java.nio.ByteBuffer.wrap(sha, i, 8).getLong());
                }
            }
        }
        return h & ~1L;
    }

    private static long mix(long h, long v) {
        h ^= v + 0x9E3779B97F4A7C15L + (h << 6) + (h >>> 2);
        h *= 0xBF58476D1CE4E5B9L;
        return h ^ (h >>> 31);
    }

    /**
     * Backs up the allocated clusters no plain stream rebuilds, and the bytes after the last cluster,
     * as the volume's raw region. Returns its size in bytes.
     */
    private long rawRegion() throws IOException {
        List<long[]> alloc = new ArrayList<>();
        for (ClusterRange r : vol.allocatedClusters()) {
            alloc.add(new long[] {r.lcn(), r.clusterCount()});
        }
        Extents covered;
        synchronized (coverage) {
            covered = Extents.of(coverage);
        }
        long clusterEnd = Math.multiplyExact(vol.info().totalClusters(), cs);
        List<long[]> bytes = new ArrayList<>();
        Extents rawClusters = Extents.of(alloc).minus(covered).scale(cs, 0);
        for (int i = 0; i < rawClusters.size(); i++) {
            bytes.add(new long[] {rawClusters.start(i), rawClusters.end(i) - rawClusters.start(i)});
        }
        if (volumeLength > clusterEnd) {
            bytes.add(new long[] {clusterEnd, volumeLength - clusterEnd});
        }
        Extents raw = Extents.of(bytes).intersect(Extents.range(0, volumeLength));
        List<BlockTask> tasks = Planner.grid(raw, 0, ctx.blockBytes(), volumeOffset);
        List<BlockRef> refs = new ArrayList<>();
        ctx.pipeline().submit(tasks, 0, results -> refs.addAll(refs(results)));
        ctx.pipeline().finish();
        ctx.catalog().recordRegion(ctx.backupId(), diskId, volumeOffset, volumeLength, "ntfs-raw", refs);
        return raw.total();
    }
}
