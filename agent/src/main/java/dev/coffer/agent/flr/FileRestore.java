package dev.coffer.agent.flr;

import dev.coffer.agent.restore.ByteRange;
import dev.coffer.agent.restore.CommitResult;
import dev.coffer.agent.restore.RestoreException;
import dev.coffer.agent.restore.RestoreFile;
import dev.coffer.agent.restore.RestoreTarget;
import dev.coffer.agent.restore.Upload;
import dev.coffer.catalog.FileBlock;
import dev.coffer.dedup.Destination;
import dev.coffer.dedup.Digests;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file-level restore pipeline: openers (several, side by side) begin each file at the target and
 * cut it into chunks onto a bounded download queue; download workers fetch the chunk's blocks from
 * the destination (a block several chunks need is fetched once) and put the chunk on a bounded upload queue; upload workers write it at its
 * offset. Content is checked end to end: the target compares what it wrote with the catalog's tree
 * hash at commit. Memory is bounded by the queues whatever the file sizes. A chunk that fails is
 * retried; a file whose block is missing or damaged fails alone, naming the block, and the rest goes
 * on. Ranges the target already holds verified (an interrupted restore) are skipped.
 */
public final class FileRestore {
    private static final Logger log = LoggerFactory.getLogger(FileRestore.class);

    /**
     * Knobs.
     *
     * @param downloadWorkers threads fetching and checking blocks
     * @param uploadWorkers threads writing chunks to the target, and as many beginning files at it
     * @param chunkBytes chunk size (1 MiB: the unit of retry and resume)
     * @param queueDepth capacity of each queue, in chunks (memory = about 2 x depth x chunk)
     * @param attempts tries per chunk before its file fails
     */
    public record Options(int downloadWorkers, int uploadWorkers, int chunkBytes, int queueDepth, int attempts) {
        public Options {
            if (downloadWorkers < 1 || uploadWorkers < 1 || chunkBytes < 4096 || chunkBytes > RestoreTarget.MAX_CHUNK_BYTES
                    || queueDepth < 1 || attempts < 1) {
                throw new IllegalArgumentException("restore options " + downloadWorkers + "/" + uploadWorkers + "/"
                        + chunkBytes + "/" + queueDepth + "/" + attempts);
            }
        }

        /**
         * Two downloaders (hashing is the CPU work) and two uploaders per core, 1 MiB chunks, 16
         * chunks per queue (32 MiB in flight), three attempts.
         */
        public static Options defaults() {
            int cores = Runtime.getRuntime().availableProcessors();
            return new Options(Math.max(2, cores), Math.max(2, 2 * cores), 1 << 20, 16, 3);
        }

        public Options withWorkers(int n) {
            return new Options(n, n, chunkBytes, queueDepth, attempts);
        }
    }

    /** One file (or stream) to restore: where and what, and its blocks in stream order. */
    public record Item(RestoreFile file, List<FileBlock> blocks) {}

    /** What became of one item. */
    public record Outcome(RestoreFile file, CommitResult result, String error) {
        public boolean ok() {
            return error == null;
        }
    }

    /** What the restore did; outcomes in the order the items were given. */
    public record Report(List<Outcome> outcomes, long bytesWritten, long bytesSkipped, Duration elapsed) {
        public long failed() {
            return outcomes.stream().filter(o -> !o.ok()).count();
        }
    }

    private final Destination destination;
    private final RestoreTarget target;
    private final Options options;
    /** Live progress for the CLI. */
    public final AtomicLong bytesDone = new AtomicLong();

    public FileRestore(Destination destination, RestoreTarget target, Options options) {
        this.destination = destination;
        this.target = target;
        this.options = options;
    }

    /**
     * The hash a target checks for a file restored from its blocks: the SHA-256 of the concatenated
     * SHA-256 of each block, in order (the catalog has these; the target recomputes them from what
     * it wrote, block by block).
     */
    public static byte[] treeHash(List<FileBlock> blocks) {
        // Digests (libcrypto) rather than the JDK's: a restore then never starts the JCA providers (~10 ms)
        Digests.Digest md = Digests.sha256();
        for (FileBlock b : blocks) {
            md.update(b.sha256(), 0, b.sha256().length);
        }
        return md.digest();
    }

    private final class FileState {
        final Item item;
        final Upload upload;
        final AtomicInteger remaining = new AtomicInteger();
        final AtomicBoolean failed = new AtomicBoolean();
        volatile String error;

        FileState(Item item, Upload upload) {
            this.item = item;
            this.upload = upload;
        }
    }

    private record Chunk(FileState file, long offset, int length, List<FileBlock> blocks) {}

    private record Filled(Chunk chunk, ByteBuffer data) {}

    private static final Chunk END = new Chunk(null, -1, 0, List.of());
    private static final Filled END_FILLED = new Filled(END, null);
    private static final Item END_ITEM = new Item(null, List.of());

    /** Restores every item; per-file failures are in the report, an exception means the target is gone. */
    public Report run(List<Item> items) throws IOException {
        long start = System.nanoTime();
        BlockingQueue<Chunk> downloads = new ArrayBlockingQueue<>(options.queueDepth());
        BlockingQueue<Filled> uploads = new ArrayBlockingQueue<>(options.queueDepth());
        List<Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        ConcurrentHashMap<String, CompletableFuture<ByteBuffer>> cache = new ConcurrentHashMap<>();
        ConcurrentHashMap<String, AtomicInteger> refs = new ConcurrentHashMap<>();
        AtomicReference<IOException> fatal = new AtomicReference<>();
        AtomicLong skipped = new AtomicLong();
        AtomicLong written = new AtomicLong();

        // Openers: beginning a file at the target (creating its partial file, or a round trip to a
        // restore-target server) is per-file latency; with many small files one thread doing it in
        // turn was the pipeline's bottleneck, so several do it side by side. They start first, and the
        // first item is handed over before the workers start: a thread costs ~1-2 ms to start on a VM,
        // and the first file's begin then overlaps the other six or more.
        BlockingQueue<Item> opens = new ArrayBlockingQueue<>(options.queueDepth());
        List<Thread> openers = new ArrayList<>();
        int openWorkers = items.size() < 2 ? 1 : options.uploadWorkers();
        for (int i = 0; i < openWorkers; i++) {
            openers.add(start("restore-open-" + i, () -> {
                while (true) {
                    Item item = opens.take();
                    if (item == END_ITEM) {
                        opens.put(END_ITEM);
                        return;
                    }
                    open(item, downloads, refs, outcomes, skipped);
                }
            }));
        }
        if (!items.isEmpty()) {
            opens.add(items.get(0)); // the queue is empty: this never waits
            // and its first blocks are asked for while it begins at the target and the workers start
            // (~15 ms on a VM): the workers then find them in the cache, as blocks another chunk fetched
            prefetch(items.get(0), options.downloadWorkers(), cache);
        }
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < options.downloadWorkers(); i++) {
            threads.add(start("restore-download-" + i, () -> {
                while (true) {
                    Chunk c = downloads.take();
                    if (c == END) {
                        downloads.put(END);
                        return;
                    }
                    if (c.file().failed.get()) {
                        release(c, refs, cache);
                        done(c.file(), outcomes, null);
                        continue;
                    }
                    try {
                        ByteBuffer data = fill(c, cache);
                        uploads.put(new Filled(c, data));
                    } catch (IOException | RuntimeException e) {
                        fail(c.file(), e.getMessage());
                        done(c.file(), outcomes, null);
                    } finally {
                        release(c, refs, cache);
                    }
                }
            }));
        }
        List<Thread> uploaders = new ArrayList<>();
        for (int i = 0; i < options.uploadWorkers(); i++) {
            uploaders.add(start("restore-upload-" + i, () -> {
                while (true) {
                    Filled f = uploads.take();
                    if (f == END_FILLED) {
                        uploads.put(END_FILLED);
                        return;
                    }
                    FileState fs = f.chunk().file();
                    if (!fs.failed.get()) {
                        try {
                            writeWithRetry(fs, f.chunk().offset(), f.data());
                            written.addAndGet(f.chunk().length());
                            bytesDone.addAndGet(f.chunk().length());
                        } catch (RestoreException e) {
                            fail(fs, "writing at offset " + f.chunk().offset() + ": " + e.getMessage());
                        }
                    }
                    done(fs, outcomes, null);
                }
            }));
        }
        try {
            for (Item item : items.subList(Math.min(1, items.size()), items.size())) {
                if (fatal.get() != null) {
                    break;
                }
                opens.put(item);
            }
            opens.put(END_ITEM);
            for (Thread t : openers) {
                t.join();
            }
            downloads.put(END);
            for (Thread t : threads) {
                t.join();
            }
            uploads.put(END_FILLED);
            for (Thread t : uploaders) {
                t.join();
            }
        } catch (InterruptedException e) {
            openers.forEach(Thread::interrupt);
            threads.forEach(Thread::interrupt);
            uploaders.forEach(Thread::interrupt);
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("restore cancelled");
        }
        return new Report(inSelectionOrder(items, outcomes), written.get(), skipped.get(),
                Duration.ofNanos(System.nanoTime() - start));
    }

    /** Outcomes arrive in completion order (files finish in any order); the report lists them as selected. */
    private static List<Outcome> inSelectionOrder(List<Item> items, List<Outcome> outcomes) {
        Map<RestoreFile, Integer> order = new IdentityHashMap<>(items.size() * 2);
        for (int i = 0; i < items.size(); i++) {
            order.putIfAbsent(items.get(i).file(), i);
        }
        List<Outcome> sorted = new ArrayList<>(outcomes);
        if (sorted.size() > 1) { // not Comparator.comparingInt: its lambdas are serializable, which no class-data archive holds
            sorted.sort((a, b) -> Integer.compare(order.getOrDefault(a.file(), Integer.MAX_VALUE),
                    order.getOrDefault(b.file(), Integer.MAX_VALUE)));
        }
        return List.copyOf(sorted);
    }

    /** Begins one file at the target and queues its chunks (none when it is skipped or fails to begin). */
    private void open(Item item, BlockingQueue<Chunk> downloads, ConcurrentHashMap<String, AtomicInteger> refs,
            List<Outcome> outcomes, AtomicLong skipped) throws InterruptedException {
        Upload u;
        try {
            u = target.begin(item.file());
        } catch (RestoreException e) {
            outcomes.add(new Outcome(item.file(), null, e.getMessage()));
            return;
        }
        FileState fs = new FileState(item, u);
        if (u.skip()) {
            outcomes.add(new Outcome(item.file(), new CommitResult(CommitResult.Outcome.SKIPPED,
                    u.targetPath(), u.mappings(), null), null));
            return;
        }
        List<Chunk> chunks = chunks(fs, u.verified(), skipped);
        fs.remaining.set(chunks.size() + 1);
        for (Chunk c : chunks) {
            for (FileBlock b : c.blocks()) {
                // atomic with release(): a count that reached zero is never revived
                refs.compute(hex(b.sha256()), (k, n) -> {
                    AtomicInteger r = n == null ? new AtomicInteger() : n;
                    r.incrementAndGet();
                    return r;
                });
            }
            downloads.put(c);
        }
        bytesDone.addAndGet(item.file().size() - chunks.stream().mapToLong(Chunk::length).sum());
        done(fs, outcomes, null);   // the opener's own reference
    }

    /** The chunks of a file not already verified at the target. */
    private List<Chunk> chunks(FileState fs, List<ByteRange> verified, AtomicLong skipped) {
        List<Chunk> out = new ArrayList<>();
        long size = fs.item.file().size();
        List<FileBlock> blocks = fs.item.blocks();
        int bi = 0;
        for (long off = 0; off < size; off += options.chunkBytes()) {
            int len = (int) Math.min(options.chunkBytes(), size - off);
            while (bi < blocks.size() && blocks.get(bi).offset() + blocks.get(bi).sizeBytes() <= off) {
                bi++;
            }
            if (covered(verified, off, off + len)) {
                skipped.addAndGet(len);
                continue;
            }
            List<FileBlock> mine = new ArrayList<>(2);
            for (int j = bi; j < blocks.size() && blocks.get(j).offset() < off + len; j++) {
                mine.add(blocks.get(j));
            }
            out.add(new Chunk(fs, off, len, mine));
        }
        return out;
    }

    private static boolean covered(List<ByteRange> ranges, long from, long to) {
        for (ByteRange r : ranges) {
            if (r.offset() <= from && r.offset() + r.length() >= to) {
                return true;
            }
        }
        return false;
    }

    /**
     * Starts fetching up to {@code n} of the item's first blocks into {@code cache}, as {@link #fetch}
     * would. A block no chunk turns out to need (the file is skipped, or those bytes were restored and
     * verified before) stays in the cache until the restore ends: at most {@code n} blocks.
     */
    private void prefetch(Item item, int n, ConcurrentHashMap<String, CompletableFuture<ByteBuffer>> cache) {
        for (int i = 0; i < Math.min(n, item.blocks().size()); i++) {
            FileBlock b = item.blocks().get(i);
            String key = hex(b.sha256());
            if (!cache.containsKey(key)) {
                CompletableFuture<ByteBuffer> f;
                try {
                    f = destination.getWithoutHashing(b.sha256()).thenApply(new SizeChecked(b));
                } catch (RuntimeException e) {
                    return; // the workers fetch it, and report what fails
                }
                cache.put(key, f);
            }
        }
    }

    /** A fetched block, checked as {@link #checkSize} does (a class, not a lambda: see LocalDestination). */
    private record SizeChecked(FileBlock block) implements java.util.function.Function<ByteBuffer, ByteBuffer> {
        @Override
        public ByteBuffer apply(ByteBuffer data) {
            try {
                checkSize(block, data);
            } catch (IOException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
            return data;
        }
    }

    /**
     * Fetches (once per block, shared by chunks) and checks the blocks, and gives the chunk's bytes: the
     * block itself when the chunk is exactly one block (the usual case: 1 MiB blocks and chunks), else a
     * copy of the parts. Writers only read the buffer they are given.
     */
    private ByteBuffer fill(Chunk c, ConcurrentHashMap<String, CompletableFuture<ByteBuffer>> cache) throws IOException {
        if (c.blocks().size() == 1) {
            FileBlock b = c.blocks().get(0);
            if (b.offset() == c.offset() && b.sizeBytes() == c.length()) {
                return fetch(b, cache).duplicate();
            }
        }
        ByteBuffer out = ByteBuffer.allocate(c.length());
        for (FileBlock b : c.blocks()) {
            ByteBuffer block = fetch(b, cache);
            long from = Math.max(b.offset(), c.offset());
            long to = Math.min(b.offset() + b.sizeBytes(), c.offset() + c.length());
            ByteBuffer part = block.duplicate();
            part.position((int) (from - b.offset())).limit((int) (to - b.offset()));
            out.position((int) (from - c.offset()));
            out.put(part);
        }
        out.clear();
        return out;
    }

    private ByteBuffer fetch(FileBlock b, ConcurrentHashMap<String, CompletableFuture<ByteBuffer>> cache)
            throws IOException {
        String key = hex(b.sha256());
        IOException last = null;
        for (int attempt = 1; attempt <= options.attempts(); attempt++) {
            CompletableFuture<ByteBuffer> mine = new CompletableFuture<>();
            CompletableFuture<ByteBuffer> f = cache.putIfAbsent(key, mine);
            if (f == null) {
                f = mine;
                try {
                    ByteBuffer data = destination.getWithoutHashing(b.sha256()).get();
                    checkSize(b, data);
                    mine.complete(data);
                } catch (ExecutionException | IOException e) {
                    Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
                    mine.completeExceptionally(cause);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    mine.completeExceptionally(e);
                }
            }
            try {
                return f.get();
            } catch (ExecutionException e) {
                cache.remove(key, f);
                last = new IOException("block " + key + ": " + e.getCause().getMessage(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("restore cancelled");
            }
        }
        throw last;
    }

    /**
     * Checks a fetched block's size against the catalog. Its content is checked once, end to end: the
     * target hashes what it wrote and compares it at commit with the catalog's tree hash of the blocks'
     * SHA-256s, so the destination need not hash the block as well ({@link
     * Destination#getWithoutHashing}: a local store checks its CRCs; a remote one hashes what crossed
     * the network). Hashing each block three more times (store, MD5 and SHA-256 here) took most of a
     * restore's CPU time.
     */
    private static void checkSize(FileBlock b, ByteBuffer data) throws IOException {
        if (data.remaining() != b.sizeBytes()) {
            throw new IOException("size " + data.remaining() + ", the catalog says " + b.sizeBytes());
        }
    }

    private void release(Chunk c, ConcurrentHashMap<String, AtomicInteger> refs,
            ConcurrentHashMap<String, CompletableFuture<ByteBuffer>> cache) {
        for (FileBlock b : c.blocks()) {
            refs.computeIfPresent(hex(b.sha256()), (key, n) -> {
                if (n.decrementAndGet() > 0) {
                    return n;
                }
                cache.remove(key);  // the last chunk that needed the block: drop it
                return null;
            });
        }
    }

    private void writeWithRetry(FileState fs, long offset, ByteBuffer data) throws RestoreException {
        RestoreException last = null;
        for (int attempt = 1; attempt <= options.attempts(); attempt++) {
            try {
                target.write(fs.upload, offset, data.duplicate());
                return;
            } catch (RestoreException e) {
                last = e;
                log.debug("chunk retry file={} offset={} attempt={} error={}", fs.item.file().displayName(), offset,
                        attempt, e.getMessage());
                sleep(100L << attempt);
            }
        }
        throw last;
    }

    private static void sleep(long millis) {
        try {
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void fail(FileState fs, String why) {
        if (fs.failed.compareAndSet(false, true)) {
            fs.error = fs.item.file().displayName() + ": " + why;
        }
    }

    /** Drops one reference to the file; the last one commits (or aborts) it. */
    private void done(FileState fs, List<Outcome> outcomes, Void unused) {
        if (fs.remaining.decrementAndGet() != 0) {
            return;
        }
        if (fs.failed.get()) {
            try {
                target.abort(fs.upload);
            } catch (RestoreException e) {
                log.warn("abort failed file={} error={}", fs.item.file().displayName(), e.getMessage());
            }
            outcomes.add(new Outcome(fs.item.file(), null, fs.error));
            return;
        }
        try {
            outcomes.add(new Outcome(fs.item.file(), target.commit(fs.upload), null));
        } catch (RestoreException e) {
            outcomes.add(new Outcome(fs.item.file(), null, fs.item.file().displayName() + ": " + e.getMessage()));
        }
    }

    private interface Work {
        void run() throws Exception;
    }

    private static Thread start(String name, Work w) {
        Thread t = new Thread(() -> {
            try {
                w.run();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                log.error("restore worker failed thread={} error={}", Thread.currentThread().getName(), e.toString());
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
