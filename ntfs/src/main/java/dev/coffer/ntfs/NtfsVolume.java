package dev.coffer.ntfs;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * An NTFS volume read from a {@link VolumeSource}: volume facts, MFT records by number, a one-pass
 * MFT scan for cataloging, directory listings from the $I30 index (B+ tree walk honouring its
 * $BITMAP), path lookup, stream content and cluster runs, and the $Bitmap of allocated clusters.
 *
 * <p>Formats follow the Linux-NTFS project's NTFS documentation and Microsoft's [MS-FSCC] /
 * [MS-XCA]; facts were cross-checked against The Sleuth Kit's output, never its code.
 *
 * <p>Corrupt records met while scanning or listing are reported to the {@link ErrorSink} given to
 * {@link #open(VolumeSource, ErrorSink)} and skipped; direct requests ({@link #record(long)},
 * {@link #lookup(String)}) throw. Thread-safe: the state is immutable after {@code open}.
 * The volume does not own its source; {@link #close()} releases nothing the caller must keep.
 */
public final class NtfsVolume implements Closeable {
    /** Bytes of the MFT read per request during a scan: large sequential reads, ~4k records of 1 KiB. */
    static final int SCAN_CHUNK = 4 << 20;
    /** Deepest directory nesting followed: NTFS paths are at most 32767 UTF-16 units, so at most 16384 levels. */
    static final int MAX_PATH_DEPTH = 16384;
    /** Deepest index B+ tree followed; real trees are 2-4 levels, a loop is caught earlier by the visited set. */
    static final int MAX_INDEX_DEPTH = 64;
    /** Largest $ATTRIBUTE_LIST read (Windows caps it at 256 KiB). */
    static final int MAX_ATTRIBUTE_LIST = 256 * 1024;
    /** Largest index $BITMAP read: one bit per index block, 16 MiB covers 2^27 blocks (512 GiB of index). */
    static final int MAX_INDEX_BITMAP = 16 << 20;
    /** Volume $Bitmap bytes read per request. */
    static final int BITMAP_CHUNK = 1 << 20;
    static final int INDX_MAGIC = 0x58444E49; // "INDX"
    static final String I30 = "$I30";

    private final VolumeSource src;
    private final BootSector boot;
    private final ErrorSink sink;
    private final long totalClusters;
    private final int recordSize;
    private final StreamReader mft;
    private final long recordCount;
    private final VolumeInfo info;

    private NtfsVolume(VolumeSource src, BootSector boot, ErrorSink sink, StreamReader mft, String label,
            int major, int minor, boolean dirty, boolean hibernated) {
        this.src = src;
        this.boot = boot;
        this.sink = sink;
        this.totalClusters = boot.totalClusters();
        this.recordSize = boot.mftRecordSize();
        this.mft = mft;
        this.recordCount = mft == null ? 0 : mft.size() / recordSize;
        this.info = mft == null ? null : new VolumeInfo(label, boot.serial(), major, minor, boot.sectorSize(),
                boot.clusterSize(), recordSize, boot.indexBlockSize(), totalClusters, boot.mftLcn(),
                boot.mftMirrorLcn(), dirty, hibernated);
    }

    /** Opens the volume, failing on the first corrupt structure ({@link ErrorSink#STRICT}). */
    public static NtfsVolume open(VolumeSource src) throws IOException {
        return open(src, ErrorSink.STRICT);
    }

    /**
     * Opens the volume: boot sector, $MFT (through its own runs, $ATTRIBUTE_LIST included), $Volume
     * and the hibernation check. Later corrupt records go to {@code sink}.
     */
    public static NtfsVolume open(VolumeSource src, ErrorSink sink) throws IOException {
        ByteBuffer bs = ByteBuffer.allocate(BootSector.SIZE);
        if (src.size() < BootSector.SIZE) {
            throw new CorruptNtfsException("volume of " + src.size() + " bytes is too small for a boot sector");
        }
        src.read(0, bs);
        bs.flip();
        BootSector boot = BootSector.parse(bs, 0);
        long volBytes = Math.multiplyExact(boot.totalSectors(), (long) boot.sectorSize());
        if (volBytes > src.size()) {
            throw new CorruptNtfsException("boot sector at 0x0: total sectors at 0x28 give " + volBytes
                    + " bytes, the source holds only " + src.size());
        }
        StreamReader mft = bootstrapMft(src, boot);
        NtfsVolume bare = new NtfsVolume(src, boot, sink, mft, "", 0, 0, false, false);
        bare.record(FileRecord.VOLUME);
        String label = "";
        int major = 0;
        int minor = 0;
        boolean dirty = false;
        for (Attribute a : bare.attributes(bare.readRaw(FileRecord.VOLUME))) {
            if (a.type == Attribute.VOLUME_NAME && !a.nonResident) {
                label = Le.utf16(a.value, 0, a.value.length / 2);
            } else if (a.type == Attribute.VOLUME_INFORMATION && !a.nonResident && a.value.length >= 0x0C) {
                major = Le.u8(a.value, 0x08);
                minor = Le.u8(a.value, 0x09);
                dirty = (Le.u16(a.value, 0x0A) & 0x0001) != 0;
            }
        }
        NtfsVolume v = new NtfsVolume(src, boot, sink, mft, label, major, minor, dirty, false);
        boolean hibernated;
        try {
            hibernated = v.hibernated();
        } catch (NtfsException e) {
            sink.report(e);
            hibernated = false;
        }
        return hibernated ? new NtfsVolume(src, boot, sink, mft, label, major, minor, dirty, true) : v;
    }

    // --- volume facts -------------------------------------------------------------------------

    /** Label, serial, version, cluster and record sizes, dirty and hibernation flags. */
    public VolumeInfo info() {
        return info;
    }

    /** Number of MFT records ($MFT data size / record size), in use or not. */
    public long recordCount() {
        return recordCount;
    }

    /**
     * True when /hiberfil.sys starts with a hibernation signature ("hibr"/"HIBR", or "wake"): Windows
     * hibernated or shut down with Fast Startup, so its view of the volume is not flushed to disk.
     */
    private boolean hibernated() throws IOException {
        Optional<DirectoryEntry> e = find(list(FileRecord.ROOT), "hiberfil.sys");
        if (e.isEmpty()) {
            return false;
        }
        FileRecord f = record(e.get().mftRecordNumber());
        Optional<StreamInfo> data = f.dataStream("");
        if (data.isEmpty() || data.get().size() < 4) {
            return false;
        }
        ByteBuffer sig = ByteBuffer.allocate(4);
        open(f, data.get()).readFully(0, sig);
        String s = new String(sig.array(), java.nio.charset.StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
        return s.equals("hibr") || s.equals("wake");
    }

    // --- records ------------------------------------------------------------------------------

    /** Reads $MFT's own record 0 and builds the reader of the $MFT data stream, following its attribute list. */
    private static StreamReader bootstrapMft(VolumeSource src, BootSector boot) throws IOException {
        int rs = boot.mftRecordSize();
        long at = Math.multiplyExact(boot.mftLcn(), (long) boot.clusterSize());
        byte[] buf = new byte[rs];
        src.read(at, ByteBuffer.wrap(buf));
        MftRecord r0 = MftRecord.parse(buf, 0, rs, 0, at, boot.totalClusters());
        List<Attribute> pieces = new ArrayList<>();
        Attribute list = null;
        for (Attribute a : r0.attributes) {
            if (a.type == Attribute.DATA && a.name.isEmpty()) {
                pieces.add(a);
            } else if (a.type == Attribute.ATTRIBUTE_LIST) {
                list = a;
            }
        }
        String where = "$MFT (record 0 at " + Checks.hex(at) + ")";
        if (pieces.isEmpty() || !pieces.get(0).nonResident) {
            throw new CorruptNtfsException(where + ": no non-resident unnamed $DATA attribute");
        }
        if (list != null) {
            byte[] lv = list.nonResident ? readNonResident(src, boot, list, where) : list.value;
            List<long[]> exts = new ArrayList<>(); // {startVcn, record}
            for (AttrListEntry e : AttrListEntry.parseAll(lv, where)) {
                if (e.type() == Attribute.DATA && e.name().isEmpty() && e.recordNumber() != 0) {
                    exts.add(new long[] {e.startVcn(), e.recordNumber()});
                }
            }
            exts.sort(Comparator.comparingLong(x -> x[0]));
            for (long[] x : exts) {
                StreamReader partial = new StreamReader(src, merge(pieces, where, true), boot.clusterSize(), where);
                long off = Math.multiplyExact(x[1], (long) rs);
                long vo = partial.volumeOffset(off);
                if (vo < 0) {
                    throw new CorruptNtfsException(where + ": extension record " + x[1] + " lies outside the $MFT runs known so far");
                }
                partial.readFully(off, ByteBuffer.wrap(buf));
                MftRecord ext = MftRecord.parse(buf, 0, rs, x[1], vo, boot.totalClusters());
                for (Attribute a : ext.attributes) {
                    if (a.type == Attribute.DATA && a.name.isEmpty() && a.startVcn == x[0]) {
                        pieces.add(a);
                    }
                }
            }
        }
        StreamInfo data = merge(pieces, where, false);
        if (data.size() < 16L * rs) {
            throw new CorruptNtfsException(where + ": $MFT data size " + data.size() + " holds fewer than 16 records");
        }
        return new StreamReader(src, data, boot.clusterSize(), where);
    }

    private static byte[] readNonResident(VolumeSource src, BootSector boot, Attribute a, String where) throws IOException {
        if (a.dataSize > MAX_ATTRIBUTE_LIST) {
            throw new LimitExceededNtfsException(where + ": " + Attribute.typeName(a.type) + " of " + a.dataSize
                    + " bytes exceeds the limit of " + MAX_ATTRIBUTE_LIST);
        }
        StreamReader r = new StreamReader(src, merge(List.of(a), where, false), boot.clusterSize(), where);
        byte[] v = new byte[(int) a.dataSize];
        r.readFully(0, ByteBuffer.wrap(v));
        return v;
    }

    /** Reads and parses MFT record {@code n} (fixups applied), in use or not. */
    MftRecord readRaw(long n) throws IOException {
        if (n < 0 || n >= recordCount) {
            throw new CorruptNtfsException("MFT record " + n + " does not exist (the MFT holds " + recordCount + " records)");
        }
        byte[] buf = new byte[recordSize];
        long off = n * recordSize;
        mft.readFully(off, ByteBuffer.wrap(buf));
        return MftRecord.parse(buf, 0, recordSize, n, mft.volumeOffset(off), totalClusters);
    }

    /**
     * The file in MFT record {@code n}, with the attributes of its extension records merged in.
     * Throws when the record is not in use, is itself an extension record, or is corrupt.
     */
    public FileRecord record(long n) throws IOException {
        MftRecord r = readRaw(n);
        checkBase(r);
        return assemble(r, attributes(r));
    }

    private void checkBase(MftRecord r) throws NtfsException {
        if (!r.inUse()) {
            throw new NtfsException("MFT record " + r.number + " at " + Checks.hex(mft.volumeOffset(r.number * recordSize))
                    + " is not in use (a deleted file or a free record)");
        }
        if (r.baseRecordNumber() != 0) {
            throw new NtfsException("MFT record " + r.number + " is an extension record of record " + r.baseRecordNumber());
        }
    }

    /** The root directory (record 5). */
    public FileRecord root() throws IOException {
        return record(FileRecord.ROOT);
    }

    /** The attributes of base record {@code r} and of the extension records its $ATTRIBUTE_LIST names. */
    private List<Attribute> attributes(MftRecord r) throws IOException {
        Attribute list = null;
        for (Attribute a : r.attributes) {
            if (a.type == Attribute.ATTRIBUTE_LIST) {
                list = a;
            }
        }
        if (list == null) {
            return r.attributes;
        }
        String where = "MFT record " + r.number + " $ATTRIBUTE_LIST";
        byte[] lv = list.nonResident ? readNonResident(src, boot, list, where) : list.value;
        Set<Long> exts = new java.util.LinkedHashSet<>();
        for (AttrListEntry e : AttrListEntry.parseAll(lv, where)) {
            if (e.recordNumber() != r.number) {
                exts.add(e.recordNumber());
            }
        }
        List<Attribute> all = new ArrayList<>(r.attributes);
        for (long x : exts) {
            MftRecord ext = readRaw(x);
            if (!ext.inUse() || ext.baseRecordNumber() != r.number || (ext.baseReference >>> 48) != r.sequence) {
                throw new CorruptNtfsException(where + ": extension record " + x + " does not belong to it (base reference "
                        + ext.baseRecordNumber() + "-" + (ext.baseReference >>> 48) + ", in use " + ext.inUse() + ")");
            }
            all.addAll(ext.attributes);
        }
        return all;
    }

    /** Builds the public view of a file from all its attributes. */
    FileRecord assemble(MftRecord base, List<Attribute> attrs) throws IOException {
        Where where = Where.record(base.number, -1);
        List<FileName> names = new ArrayList<>(2);
        StandardInformation si = null;
        ReparsePoint reparse = null;
        UUID objectId = null;
        List<List<Attribute>> groups = new ArrayList<>(4);
        for (Attribute a : attrs) {
            switch (a.type) {
                case Attribute.FILE_NAME:
                    if (!a.nonResident) {
                        names.add(FileName.parse(a.value, 0, a.value.length, where));
                    }
                    break;
                case Attribute.STANDARD_INFORMATION:
                    if (!a.nonResident && si == null) {
                        si = StandardInformation.parse(a.value, where);
                    }
                    break;
                case Attribute.REPARSE_POINT:
                    if (a.nonResident) {
                        if (a.dataSize > ReparsePoint.MAX_DATA + 8) {
                            throw new CorruptNtfsException(where + ": $REPARSE_POINT of " + a.dataSize + " bytes exceeds 16 KiB");
                        }
                        reparse = ReparsePoint.parse(readNonResident(src, boot, a, where.toString()), where);
                    } else {
                        reparse = ReparsePoint.parse(a.value, where);
                    }
                    break;
                case Attribute.OBJECT_ID:
                    if (!a.nonResident && a.value.length >= 16) {
                        objectId = guid(a.value);
                    }
                    break;
                default:
                    break;
            }
            if (a.type == Attribute.DATA || a.nonResident) {
                List<Attribute> group = null;
                for (List<Attribute> g : groups) {
                    Attribute h = g.get(0);
                    if (h.type == a.type && h.name.equals(a.name)) {
                        group = g;
                        break;
                    }
                }
                if (group == null) {
                    group = new ArrayList<>(1);
                    groups.add(group);
                }
                group.add(a);
            }
        }
        List<StreamInfo> streams = new ArrayList<>(groups.size());
        for (List<Attribute> g : groups) {
            streams.add(merge(g, where, false));
        }
        return new FileRecord(base.number, base.sequence, base.linkCount, base.directory(), List.copyOf(names), si,
                reparse, objectId, List.copyOf(streams));
    }

    /** Merges the extents of one attribute (sorted by starting vcn, contiguous) into a stream. */
    static StreamInfo merge(List<Attribute> pieces, Object where, boolean partial) throws CorruptNtfsException {
        Attribute first = pieces.get(0);
        if (!first.nonResident) {
            if (pieces.size() > 1) {
                throw new CorruptNtfsException(where + ": " + Attribute.typeName(first.type) + " \"" + first.name
                        + "\" appears " + pieces.size() + " times, resident");
            }
            return new StreamInfo(first.type, first.name, first.value.length, first.value.length, first.value.length,
                    true, first.flags, 0, List.of(), first.value);
        }
        List<Attribute> sorted = pieces;
        if (pieces.size() > 1) {
            sorted = new ArrayList<>(pieces);
            sorted.sort(Comparator.comparingLong(a -> a.startVcn));
        }
        Attribute head = sorted.get(0);
        Object what = where; // refined below only when a message is built
        if (head.startVcn != 0) {
            throw new CorruptNtfsException(what + " " + Attribute.typeName(head.type) + " \"" + head.name + "\": first extent starts at vcn " + head.startVcn + ", expected 0");
        }
        List<Run> runs;
        if (sorted.size() == 1) {
            runs = head.runs;
        } else {
            runs = new ArrayList<>();
            long next = 0;
            for (Attribute a : sorted) {
                if (!a.nonResident || a.startVcn != next) {
                    throw new CorruptNtfsException(what + " " + Attribute.typeName(head.type) + " \"" + head.name + "\": extent in record " + a.recordNumber + " starts at vcn "
                            + a.startVcn + ", expected " + next);
                }
                runs.addAll(a.runs);
                next = a.lastVcn + 1;
            }
            runs = List.copyOf(runs);
        }
        int cu = head.compressionUnitLog2 == 0 ? 0 : 1 << head.compressionUnitLog2;
        long size = head.dataSize;
        long init = Math.min(head.initializedSize, size);
        if (partial) {
            size = head.allocatedSize; // bootstrapping $MFT: read what the runs so far cover
            init = size;
        }
        return new StreamInfo(head.type, head.name, size, head.allocatedSize, init, false, head.flags, cu, runs, null);
    }

    private static UUID guid(byte[] v) {
        long d1 = Le.u32(v, 0);
        long d2 = Le.u16(v, 4);
        long d3 = Le.u16(v, 6);
        long lo = 0;
        for (int i = 8; i < 16; i++) {
            lo = (lo << 8) | (v[i] & 0xFF);
        }
        return new UUID(d1 << 32 | d2 << 16 | d3, lo);
    }

    // --- scan ---------------------------------------------------------------------------------

    /**
     * Reads the whole MFT once, in large sequential chunks, and hands every in-use base record (with
     * its extension records merged) to {@code consumer}, in record order except that files with an
     * $ATTRIBUTE_LIST come at the end. Corrupt records go to the error sink and are skipped.
     */
    public void scan(Consumer<FileRecord> consumer) throws IOException {
        int perChunk = Math.max(1, SCAN_CHUNK / recordSize);
        long chunks = (recordCount + perChunk - 1) / perChunk;
        int threads = (int) Math.min(Math.min(SCAN_THREADS, Runtime.getRuntime().availableProcessors()), chunks);
        Map<Long, List<MftRecord>> extensions = new HashMap<>();
        List<MftRecord> deferred = new ArrayList<>();
        if (threads <= 1) {
            byte[] buf = new byte[perChunk * recordSize];
            for (long first = 0; first < recordCount; first += perChunk) {
                deliver(parseChunk(first, (int) Math.min(perChunk, recordCount - first), buf), consumer, extensions, deferred);
            }
        } else {
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads,
                    new java.util.concurrent.ThreadFactory() {
                        @Override
                        public Thread newThread(Runnable r) {
                            Thread t = new Thread(r, "ntfs-scan");
                            t.setDaemon(true);
                            return t;
                        }
                    });
            // one read buffer per worker, reused chunk after chunk (records copy what they keep): a fresh
            // array per chunk is zeroed and its pages first touched, ~90 ms of a 20 MB MFT's scan here
            ThreadLocal<byte[]> buffers = ThreadLocal.withInitial(() -> new byte[perChunk * recordSize]);
            try {
                java.util.ArrayDeque<java.util.concurrent.Future<Chunk>> inflight = new java.util.ArrayDeque<>();
                long next = 0;
                while (next < recordCount || !inflight.isEmpty()) {
                    while (next < recordCount && inflight.size() <= threads) {
                        final long first = next;
                        final int count = (int) Math.min(perChunk, recordCount - first);
                        inflight.add(pool.submit(new java.util.concurrent.Callable<Chunk>() {
                            @Override
                            public Chunk call() throws IOException {
                                return parseChunk(first, count, buffers.get());
                            }
                        }));
                        next += count;
                    }
                    deliver(await(inflight.poll()), consumer, extensions, deferred);
                }
            } finally {
                pool.shutdownNow();
            }
        }
        for (MftRecord r : deferred) {
            try {
                List<Attribute> all = new ArrayList<>(r.attributes);
                for (MftRecord x : extensions.getOrDefault(r.number, List.of())) {
                    if ((x.baseReference >>> 48) == r.sequence) {
                        all.addAll(x.attributes);
                    }
                }
                consumer.accept(assemble(r, all));
            } catch (NtfsException e) {
                sink.report(e);
            }
        }
    }

    /** Parse workers for {@link #scan}: two cores halve its time; more rarely help (the MFT read is sequential). */
    static final int SCAN_THREADS = 2;

    /** What one worker made of one chunk of the MFT, in record order. */
    private static final class Chunk {
        final List<Object> items = new ArrayList<>(); // FileRecord, MftRecord (extension or deferred base), or NtfsException
    }

    private static Chunk await(java.util.concurrent.Future<Chunk> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("MFT scan interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    private void deliver(Chunk c, Consumer<FileRecord> consumer, Map<Long, List<MftRecord>> extensions,
            List<MftRecord> deferred) throws NtfsException {
        for (Object o : c.items) {
            if (o instanceof FileRecord f) {
                consumer.accept(f);
            } else if (o instanceof MftRecord r) {
                if (r.baseRecordNumber() != 0) {
                    List<MftRecord> l = extensions.get(r.baseRecordNumber());
                    if (l == null) {
                        l = new ArrayList<>(2);
                        extensions.put(r.baseRecordNumber(), l);
                    }
                    l.add(r);
                } else {
                    deferred.add(r);
                }
            } else {
                sink.report((NtfsException) o);
            }
        }
    }

    /** Reads and parses records {@code first .. first+count-1} (thread-safe: touches no shared state). */
    private Chunk parseChunk(long first, int count, byte[] buf) throws IOException {
        Chunk out = new Chunk();
        mft.readFully(first * recordSize, ByteBuffer.wrap(buf, 0, count * recordSize));
        for (int i = 0; i < count; i++) {
            int off = i * recordSize;
            if (!MftRecord.inUseFlag(buf, off)) {
                continue;
            }
            long n = first + i;
            if (!MftRecord.hasMagic(buf, off)) {
                if (Le.i32(buf, off) != 0) {
                    out.items.add(new CorruptNtfsException("MFT record " + n + " at " + Checks.hex(mft.volumeOffset(n * recordSize))
                            + ": expected magic \"FILE\", found " + Checks.hex(Le.u32(buf, off))));
                }
                continue;
            }
            try {
                MftRecord r = MftRecord.parse(buf, off, recordSize, n, mft.volumeOffset(n * recordSize), totalClusters);
                if (r.baseRecordNumber() != 0) {
                    out.items.add(r);
                    continue;
                }
                boolean hasList = false;
                for (Attribute a : r.attributes) {
                    hasList |= a.type == Attribute.ATTRIBUTE_LIST;
                }
                out.items.add(hasList ? r : assemble(r, r.attributes));
            } catch (NtfsException e) {
                out.items.add(e);
            }
        }
        return out;
    }

    /** Scans the MFT and builds the whole tree of names (see {@link VolumeTree}). */
    public VolumeTree tree() throws IOException {
        return VolumeTree.build(this, sink);
    }

    // --- directories --------------------------------------------------------------------------

    /** The entries of directory {@code dir}, in index (collation) order, 8.3 short names included. */
    public List<DirectoryEntry> list(FileRecord dir) throws IOException {
        return list(dir.mftRecordNumber());
    }

    /**
     * The entries of the directory in MFT record {@code n}, walking its $I30 B+ tree in order and
     * reading only index blocks its $BITMAP marks in use. A corrupt index block is reported to the
     * sink and its subtree skipped.
     */
    public List<DirectoryEntry> list(long n) throws IOException {
        MftRecord r = readRaw(n);
        checkBase(r);
        List<Attribute> attrs = attributes(r);
        String where = "MFT record " + n + " $I30";
        Attribute root = null;
        List<Attribute> alloc = new ArrayList<>();
        List<Attribute> bitmap = new ArrayList<>();
        for (Attribute a : attrs) {
            if (!a.name.equals(I30)) {
                continue;
            }
            if (a.type == Attribute.INDEX_ROOT && !a.nonResident) {
                root = a;
            } else if (a.type == Attribute.INDEX_ALLOCATION) {
                alloc.add(a);
            } else if (a.type == Attribute.BITMAP) {
                bitmap.add(a);
            }
        }
        if (root == null) {
            throw new NtfsException(where + ": not a directory (no $INDEX_ROOT \"$I30\")");
        }
        byte[] rv = root.value;
        if (rv.length < 0x20) {
            throw new CorruptNtfsException(where + ": $INDEX_ROOT of " + rv.length + " bytes, expected >= 0x20");
        }
        int blockSize = Le.i32(rv, 0x08);
        if (blockSize < 512 || blockSize > BootSector.MAX_INDEX_BLOCK_SIZE || Integer.bitCount(blockSize) != 1) {
            throw new CorruptNtfsException(where + ": index block size at $INDEX_ROOT+0x8 expected a power of two 512..65536, found " + blockSize);
        }
        IndexWalk w = new IndexWalk(where, blockSize, boot.clusterSize(), sink);
        if (!alloc.isEmpty()) {
            StreamReader ar = new StreamReader(src, merge(alloc, where, false), boot.clusterSize(), where);
            w.allocSize = ar.size();
            w.blocks = new BlockSource() { // not a lambda: list() runs during open(), keep bootstraps off that path
                @Override
                public long read(long off, byte[] dst) throws IOException {
                    ar.readFully(off, ByteBuffer.wrap(dst));
                    return ar.volumeOffset(off);
                }
            };
            if (bitmap.isEmpty()) {
                throw new CorruptNtfsException(where + ": $INDEX_ALLOCATION without $BITMAP");
            }
            StreamInfo bm = merge(bitmap, where, false);
            if (bm.size() > MAX_INDEX_BITMAP) {
                throw new LimitExceededNtfsException(where + ": $BITMAP of " + bm.size() + " bytes exceeds " + MAX_INDEX_BITMAP);
            }
            w.bitmap = new byte[(int) bm.size()];
            new StreamReader(src, bm, boot.clusterSize(), where).readFully(0, ByteBuffer.wrap(w.bitmap));
        }
        w.node(rv, 0x10, rv.length, 0, "$INDEX_ROOT");
        return w.out;
    }

    /** Reads index blocks: fills {@code dst} from $INDEX_ALLOCATION offset {@code off}, returns its volume offset (for messages). */
    @FunctionalInterface
    interface BlockSource {
        long read(long off, byte[] dst) throws IOException;
    }

    /**
     * One in-order walk of a directory's index B+ tree ($INDEX_ROOT node, then $INDEX_ALLOCATION
     * blocks named by sub-node vcns). Loops, free blocks and depth are checked; a corrupt block is
     * reported to the sink and its subtree skipped.
     */
    static final class IndexWalk {
        final String where;
        final int blockSize;
        final int vcnUnit;
        final ErrorSink sink;
        BlockSource blocks;
        long allocSize;
        byte[] bitmap;
        final Set<Long> visited = new HashSet<>();
        final List<DirectoryEntry> out = new ArrayList<>();

        IndexWalk(String where, int blockSize, int clusterSize, ErrorSink sink) {
            this.where = where;
            this.blockSize = blockSize;
            this.sink = sink;
            // Index vcns count clusters, or 512-byte blocks when an index block is smaller than a cluster.
            this.vcnUnit = blockSize >= clusterSize ? clusterSize : 512;
        }

        /** Walks the node whose header is at {@code b[hdr]}, valid bytes up to {@code limit}. */
        void node(byte[] b, int hdr, int limit, int depth, String what) throws IOException {
            if (hdr + 0x10 > limit) {
                throw new CorruptNtfsException(where + " " + what + ": node header runs past " + Checks.hex(limit));
            }
            long entriesOff = Le.u32(b, hdr);
            long used = Le.u32(b, hdr + 0x04);
            if (entriesOff < 0x10 || used > limit - hdr || entriesOff > used) {
                throw new CorruptNtfsException(where + " " + what + ": node header entries " + Checks.hex(entriesOff)
                        + ".." + Checks.hex(used) + " out of bounds (" + Checks.hex(limit - hdr) + " bytes)");
            }
            int p = hdr + (int) entriesOff;
            int end = hdr + (int) used;
            while (true) {
                if (p + 0x10 > end) {
                    throw new CorruptNtfsException(where + " " + what + ": entry at +" + Checks.hex(p) + " runs past the node end; no last entry");
                }
                long ref = Le.i64(b, p);
                int len = Le.u16(b, p + 0x08);
                int keyLen = Le.u16(b, p + 0x0A);
                int flags = Le.u16(b, p + 0x0C);
                boolean sub = (flags & 0x01) != 0;
                boolean last = (flags & 0x02) != 0;
                if (len < (sub ? 0x18 : 0x10) || len > end - p || (!last && 0x10 + keyLen > len - (sub ? 8 : 0))) {
                    throw new CorruptNtfsException(where + " " + what + ": entry at +" + Checks.hex(p) + " length " + len
                            + " / key " + keyLen + " out of bounds");
                }
                if (sub) {
                    long vcn = Le.i64(b, p + len - 8);
                    try {
                        child(vcn, depth + 1);
                    } catch (CorruptNtfsException | LimitExceededNtfsException e) {
                        sink.report(e);
                    }
                }
                if (last) {
                    return;
                }
                FileName fn = FileName.parse(b, p + 0x10, keyLen, Where.of(where, " ", what, " entry at byte ", p));
                out.add(new DirectoryEntry(ref & 0xFFFF_FFFF_FFFFL, (int) (ref >>> 48), fn));
                p += len;
            }
        }

        void child(long vcn, int depth) throws IOException {
            if (depth > MAX_INDEX_DEPTH) {
                throw new LimitExceededNtfsException(where + ": index deeper than " + MAX_INDEX_DEPTH + " levels");
            }
            if (blocks == null) {
                throw new CorruptNtfsException(where + ": entry points to index vcn " + vcn + " but there is no $INDEX_ALLOCATION");
            }
            if (vcn < 0 || vcn > allocSize / vcnUnit) {
                throw new CorruptNtfsException(where + ": index vcn " + vcn + " lies past the $INDEX_ALLOCATION's " + allocSize + " bytes");
            }
            long off = vcn * vcnUnit;
            long block = off / blockSize;
            if (off % blockSize != 0 || off + blockSize > allocSize) {
                throw new CorruptNtfsException(where + ": index vcn " + vcn + " is not a block inside the $INDEX_ALLOCATION");
            }
            if (block / 8 >= bitmap.length || (bitmap[(int) (block / 8)] & (1 << (block % 8))) == 0) {
                throw new CorruptNtfsException(where + ": index vcn " + vcn + " points to block " + block + ", free in $BITMAP");
            }
            if (!visited.add(block)) {
                throw new CorruptNtfsException(where + ": index loop: block at vcn " + vcn + " reached twice");
            }
            byte[] b = new byte[blockSize];
            String what = "index block vcn " + vcn + " at " + Checks.hex(blocks.read(off, b));
            if (Le.i32(b, 0) != INDX_MAGIC) {
                throw new CorruptNtfsException(where + " " + what + ": expected magic \"INDX\", found " + Checks.hex(Le.u32(b, 0)));
            }
            Fixup.apply(b, 0, blockSize, where + " " + what);
            if (Le.i64(b, 0x10) != vcn) {
                throw new CorruptNtfsException(where + " " + what + ": vcn at +0x10 expected " + vcn + ", found " + Le.i64(b, 0x10));
            }
            node(b, 0x18, blockSize, depth, what);
        }
    }

    /** Finds a name in a listing: exact match first, then case-insensitive (Win32 names), long names before 8.3. */
    static Optional<DirectoryEntry> find(List<DirectoryEntry> entries, String name) {
        DirectoryEntry folded = null;
        for (DirectoryEntry e : entries) {
            if (e.name().equals(name)) {
                return Optional.of(e);
            }
            if (folded == null && e.fileName().namespace() != FileName.Namespace.POSIX && e.name().equalsIgnoreCase(name)) {
                folded = e;
            }
        }
        return Optional.ofNullable(folded);
    }

    /**
     * The file at {@code path} ('/'-separated from the root; "" or "/" is the root), looked up
     * through the directory indexes, or empty when some component does not exist.
     */
    public Optional<FileRecord> lookup(String path) throws IOException {
        FileRecord cur = root();
        int depth = 0;
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (++depth > MAX_PATH_DEPTH || !cur.directory()) {
                return Optional.empty();
            }
            Optional<DirectoryEntry> e = find(list(cur), part);
            if (e.isEmpty()) {
                return Optional.empty();
            }
            FileRecord next = record(e.get().mftRecordNumber());
            if (next.sequenceNumber() != e.get().sequenceNumber()) {
                throw new CorruptNtfsException("directory " + cur.mftRecordNumber() + " entry \"" + part + "\" refers to record "
                        + next.mftRecordNumber() + " sequence " + e.get().sequenceNumber() + ", the record has sequence "
                        + next.sequenceNumber());
            }
            cur = next;
        }
        return Optional.of(cur);
    }

    /**
     * Every full path of {@code file} (one per long name: hard links), '/'-separated from the root,
     * found by following parent references. A name whose parent chain is broken (deleted or reused
     * parent, a cycle) yields a path under "$OrphanFiles/".
     */
    public List<String> paths(FileRecord file) throws IOException {
        List<String> out = new ArrayList<>();
        for (FileName link : file.links()) {
            if (file.mftRecordNumber() == FileRecord.ROOT) {
                out.add("/");
                continue;
            }
            StringBuilder sb = new StringBuilder("/" + link.name());
            long parent = link.parentRecordNumber();
            int seq = link.parentSequenceNumber();
            Set<Long> seen = new HashSet<>();
            boolean orphan = false;
            while (parent != FileRecord.ROOT) {
                if (!seen.add(parent) || seen.size() > MAX_PATH_DEPTH) {
                    sink.report(new CorruptNtfsException("MFT record " + file.mftRecordNumber() + ": cycle of parents at record " + parent));
                    orphan = true;
                    break;
                }
                FileRecord p;
                try {
                    p = record(parent);
                } catch (NtfsException e) {
                    orphan = true;
                    break;
                }
                if (p.sequenceNumber() != seq || !p.directory() || p.primaryName() == null) {
                    orphan = true;
                    break;
                }
                FileName pn = p.primaryName();
                sb.insert(0, "/" + pn.name());
                parent = pn.parentRecordNumber();
                seq = pn.parentSequenceNumber();
            }
            out.add(orphan ? "/$OrphanFiles" + sb.substring(sb.lastIndexOf("/")) : sb.toString());
        }
        return out;
    }

    // --- content ------------------------------------------------------------------------------

    /** A positional reader over one stream of a file. */
    public StreamReader open(FileRecord file, StreamInfo stream) throws NtfsException {
        String where = "MFT record " + file.mftRecordNumber() + " " + stream.typeName()
                + (stream.name().isEmpty() ? "" : " \"" + stream.name() + "\"");
        return new StreamReader(src, stream, boot.clusterSize(), where);
    }

    /** The volume byte offset of MFT record {@code n}, or -1 when the $MFT runs do not map it. */
    public long recordOffset(long n) {
        return n < 0 || n >= recordCount ? -1 : mft.volumeOffset(n * recordSize);
    }

    /** The raw MFT record {@code n} as on disk (update sequence not undone), for block-level callers and dumps. */
    public byte[] rawRecord(long n) throws IOException {
        if (n < 0 || n >= recordCount) {
            throw new CorruptNtfsException("MFT record " + n + " does not exist (the MFT holds " + recordCount + " records)");
        }
        byte[] buf = new byte[recordSize];
        mft.readFully(n * recordSize, ByteBuffer.wrap(buf));
        return buf;
    }

    // --- $Bitmap ------------------------------------------------------------------------------

    /** The volume's allocated clusters from $Bitmap, as maximal ranges in lcn order. */
    public List<ClusterRange> allocatedClusters() throws IOException {
        List<ClusterRange> out = new ArrayList<>();
        forEachAllocated(out::add);
        return out;
    }

    /** Streams the allocated cluster ranges of $Bitmap in lcn order, reading it 1 MiB at a time. */
    public void forEachAllocated(Consumer<ClusterRange> consumer) throws IOException {
        FileRecord bm = record(FileRecord.BITMAP);
        StreamInfo data = bm.dataStream("").orElseThrow(() -> new CorruptNtfsException("$Bitmap (record 6): no $DATA"));
        if (data.size() * 8 < totalClusters) {
            throw new CorruptNtfsException("$Bitmap (record 6): " + data.size() + " bytes cover fewer than the volume's "
                    + totalClusters + " clusters");
        }
        StreamReader r = open(bm, data);
        byte[] buf = new byte[BITMAP_CHUNK];
        long runStart = -1;
        long lcn = 0;
        for (long off = 0; lcn < totalClusters; off += buf.length) {
            int len = (int) Math.min(buf.length, (totalClusters - lcn + 7) / 8);
            r.readFully(off, ByteBuffer.wrap(buf, 0, len));
            for (int i = 0; i < len && lcn < totalClusters; i++) {
                int byt = buf[i] & 0xFF;
                if ((byt == 0xFF && runStart >= 0) || (byt == 0 && runStart < 0)) {
                    long step = Math.min(8, totalClusters - lcn);
                    lcn += step;
                    continue;
                }
                for (int bit = 0; bit < 8 && lcn < totalClusters; bit++, lcn++) {
                    boolean set = (byt & (1 << bit)) != 0;
                    if (set && runStart < 0) {
                        runStart = lcn;
                    } else if (!set && runStart >= 0) {
                        consumer.accept(new ClusterRange(runStart, lcn - runStart));
                        runStart = -1;
                    }
                }
            }
        }
        if (runStart >= 0) {
            consumer.accept(new ClusterRange(runStart, totalClusters - runStart));
        }
    }

    /** Releases nothing: the volume does not own its source, which the caller closes. */
    @Override
    public void close() {
    }
}
