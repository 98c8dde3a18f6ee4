package dev.coffer.agent.backup;

import dev.coffer.dedup.BlockHash;
import dev.coffer.dedup.BlockHasher;
import dev.coffer.vmdk.ByteSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Reads, hashes and hands on blocks with a fixed pool of workers over a bounded queue.
 *
 * <p>Work arrives as units (all blocks of one stream or region); a unit's callback runs once, with
 * its results in task order, when every block of it has been hashed and offered to the sink. Memory
 * is bounded: at most {@code buffers} blocks are held at once (read, being hashed, or waiting for the
 * sink), whatever the input. The first failure cancels the job; {@link #finish} rethrows it.
 */
final class BlockPipeline implements AutoCloseable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(BlockPipeline.class);
    /** A unit of work: blocks whose results are wanted together. */
    private record Unit(List<BlockTask> tasks, BlockResult[] results, AtomicInteger remaining,
            Consumer<List<BlockResult>> done, boolean checkTail, long tailEnd) {}

    private record Job(Unit unit, int index) {}

    private static final Job POISON = new Job(null, -1);
    /** A read-only source of zeros for holes and bytes past the initialized size. */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 << 10).asReadOnlyBuffer();

    private final ByteSource disk;
    private final BlockSink sink;
    private final ReadThrottle gate;
    private final BlockingQueue<Job> queue;
    /** Free read buffers; {@link #created} of at most {@link #buffers} have been made so far. */
    private final BlockingQueue<ByteBuffer> pool;
    private final int buffers;
    private final int blockBytes;
    private final AtomicInteger created = new AtomicInteger();
    /** blockBytes of zeros, read-only: the bytes of every block made only of holes. */
    private final ByteBuffer zeroBlock;
    private final List<Thread> workers = new ArrayList<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicInteger unitsOpen = new AtomicInteger();
    private final Object idle = new Object();
    private final AtomicLong bytesRead;
    private final boolean idleIo;
    final AtomicLong blocksHashed = new AtomicLong();


    /**
     * @param disk what the pieces' offsets refer to
     * @param workerCount reader/hasher threads
     * @param buffers blocks held at once (memory = buffers x blockBytes)
     * @param blockBytes largest block, plus one cluster for tail checks
     * @param bytesRead counts the bytes read from {@code disk}
     * @param idleIo run the readers in the idle I/O class
     */
    BlockPipeline(ByteSource disk, BlockSink sink, ReadThrottle gate, int workerCount, int buffers, int blockBytes,
            AtomicLong bytesRead, boolean idleIo) {
        this.idleIo = idleIo;
        this.disk = disk;
        this.bytesRead = bytesRead;
        this.sink = sink;
        this.gate = gate;
        this.queue = new ArrayBlockingQueue<>(Math.max(buffers, workerCount) * 2);
        this.pool = new ArrayBlockingQueue<>(buffers);
        this.buffers = buffers;
        this.blockBytes = blockBytes;
        this.zeroBlock = ByteBuffer.allocateDirect(blockBytes).asReadOnlyBuffer(); // allocateDirect zeroes it
        for (int i = 0; i < workerCount; i++) {
            Thread t = new Thread(this::work, "backup-worker-" + i);
            t.setDaemon(true);
            t.start();
            workers.add(t);
        }
    }

    /**
     * Queues a unit; blocks while the queue is full. {@code tailEnd}, when positive, is the disk
     * offset up to which the last block's final piece is read beyond the block to check that the
     * cluster's slack is zero (see {@link BlockResult#zeroTail}).
     */
    void submit(List<BlockTask> tasks, long tailEnd, Consumer<List<BlockResult>> done) throws IOException {
        checkFailure();
        if (tasks.isEmpty()) {
            done.accept(List.of());
            return;
        }
        Unit u = new Unit(tasks, new BlockResult[tasks.size()], new AtomicInteger(tasks.size()), done,
                tailEnd > 0, tailEnd);
        unitsOpen.incrementAndGet();
        try {
            for (int i = 0; i < tasks.size(); i++) {
                while (!queue.offer(new Job(u, i), 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    checkFailure();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(e);
            checkFailure();
        }
    }

    private void work() {
        if (idleIo) {
            try {
                // the controller's own I/O goes first: the kernel serves this thread only when the
                // disks are otherwise idle (honoured by the BFQ and CFQ schedulers)
                dev.coffer.agent.load.IoPriority.setIdleForCurrentThread();
            } catch (IOException | RuntimeException | LinkageError e) {
                log.warn("cannot put backup readers in the idle I/O class: {}", e.getMessage());
            }
        }
        BlockHasher hasher = BlockHasher.forThread();
        try {
            while (true) {
                Job job = queue.take();
                if (job == POISON) {
                    return;
                }
                if (failure.get() != null) {
                    finishOne(job.unit());
                    continue;
                }
                BlockTask holes = job.unit().tasks().get(job.index());
                if (holesOnly(holes)) {
                    offerZeros(job, holes, hasher);
                    continue;
                }
                ByteBuffer buf = takeBuffer();
                try {
                    BlockTask t = job.unit().tasks().get(job.index());
                    boolean last = job.index() == job.unit().tasks().size() - 1;
                    boolean zeroTail = read(t, buf, last && job.unit().checkTail() ? job.unit().tailEnd() : 0);
                    buf.flip();
                    BlockHash h = hasher.hash(buf.duplicate());
                    ByteBuffer held = buf;
                    buf = null;
                    hand(job, t, h, zeroTail, held, () -> {
                        held.clear();
                        pool.add(held);
                    });
                } catch (Throwable e) {
                    fail(e);
                    finishOne(job.unit());
                } finally {
                    if (buf != null) {
                        buf.clear();
                        pool.add(buf);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A free read buffer, made when none is free and fewer than {@code buffers} exist, else waited for.
     * Made on demand, not up front: {@code allocateDirect} zeroes each one and the first touch of its
     * pages faults them in, ~2.5 ms per 1 MiB buffer here, and an incremental that reads 30 MB with the
     * sink copying blocks off at once never holds more than a few of the 32.
     */
    private ByteBuffer takeBuffer() throws InterruptedException {
        ByteBuffer b = pool.poll();
        if (b != null) {
            return b;
        }
        for (int n; (n = created.get()) < buffers; ) {
            if (created.compareAndSet(n, n + 1)) {
                return ByteBuffer.allocateDirect(blockBytes);
            }
        }
        return pool.take();
    }

    /**
     * A block made only of holes (sparse files, $BadClus:$Bad spanning the volume) is all zeros by
     * construction: its hash is known after the first, and its bytes are a view of a shared read-only
     * block of zeros. Nothing is read, filled or hashed (filling them cost ~0.25 s of CPU of a full
     * backup of the reference workload), and no pool buffer is held.
     */
    private void offerZeros(Job job, BlockTask t, BlockHasher hasher) {
        try {
            ByteBuffer zeros = zeroBlock.duplicate().limit(t.length());
            hand(job, t, zeroHash(t.length(), zeros, hasher), true, zeros, () -> { });
        } catch (Throwable e) {
            fail(e);
            finishOne(job.unit());
        }
    }

    /** Records a block's result and offers it to the sink; {@code release} runs once the sink is done with it. */
    private void hand(Job job, BlockTask t, BlockHash h, boolean zeroTail, ByteBuffer data, Runnable release) {
        blocksHashed.incrementAndGet();
        job.unit().results()[job.index()] = new BlockResult(t.offset(), t.length(), h, zeroTail);
        sink.offer(h, data).whenComplete((v, ex) -> {
            release.run();
            if (ex != null) {
                fail(ex);
            }
            finishOne(job.unit());
        });
    }

    private static boolean holesOnly(BlockTask t) {
        for (Piece p : t.pieces()) {
            if (!p.zeros()) {
                return false;
            }
        }
        return true;
    }

    /** Hashes of all-zero blocks by length, computed once each. */
    private final java.util.concurrent.ConcurrentHashMap<Integer, BlockHash> zeroHashes =
            new java.util.concurrent.ConcurrentHashMap<>();

    private BlockHash zeroHash(int length, ByteBuffer zeros, BlockHasher hasher) {
        BlockHash h = zeroHashes.get(length);
        if (h == null) {
            h = hasher.hash(zeros.duplicate());
            zeroHashes.put(length, h);
        }
        return h;
    }

    /**
     * Reads a task's pieces into {@code buf}. With {@code tailEnd > 0}, also reads the bytes after
     * the last piece up to {@code tailEnd} (not part of the block) and says whether they are zero.
     */
    private boolean read(BlockTask t, ByteBuffer buf, long tailEnd) throws IOException, InterruptedException {
        buf.clear();
        gate.acquire(t.length());
        Piece lastDisk = null;
        for (Piece p : t.pieces()) {
            if (p.zeros()) {
                for (int left = p.length(); left > 0; ) {
                    int n = Math.min(left, ZEROS.capacity());
                    buf.put(ZEROS.duplicate().limit(n));
                    left -= n;
                }
            } else {
                buf.limit(buf.position() + p.length());
                disk.read(p.diskOffset(), buf);
                buf.limit(buf.capacity());
                bytesRead.addAndGet(p.length());
                lastDisk = p;
            }
        }
        Piece final_ = t.pieces().get(t.pieces().size() - 1);
        if (tailEnd <= 0 || final_.zeros() || final_ != lastDisk) {
            return true;
        }
        long from = final_.diskOffset() + final_.length();
        int n = (int) (tailEnd - from);
        if (n <= 0) {
            return true;
        }
        int mark = buf.position();
        buf.limit(mark + n);
        disk.read(from, buf);
        bytesRead.addAndGet(n);
        boolean zero = allZero(buf.duplicate().position(mark).limit(mark + n));
        buf.limit(buf.capacity());
        buf.position(mark);
        return zero;
    }

    /** Whether {@code b}'s remaining bytes are all zero (compared 64 KiB at a time, vectorised). */
    static boolean allZero(ByteBuffer b) {
        ByteBuffer rest = b.slice();
        while (rest.hasRemaining()) {
            int n = Math.min(rest.remaining(), ZEROS.capacity());
            if (rest.slice().limit(n).mismatch(ZEROS.duplicate().limit(n)) >= 0) {
                return false;
            }
            rest.position(rest.position() + n);
        }
        return true;
    }

    private void finishOne(Unit u) {
        if (u.remaining().decrementAndGet() == 0) {
            try {
                if (failure.get() == null) {
                    u.done().accept(List.of(u.results()));
                }
            } catch (Throwable e) {
                fail(e);
            } finally {
                if (unitsOpen.decrementAndGet() == 0) {
                    synchronized (idle) {
                        idle.notifyAll();
                    }
                }
            }
        }
    }

    private void fail(Throwable e) {
        Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                ? e.getCause() : e;
        failure.compareAndSet(null, cause);
        synchronized (idle) {
            idle.notifyAll();
        }
    }

    private void checkFailure() throws IOException {
        Throwable f = failure.get();
        if (f instanceof IOException io) {
            throw io;
        }
        if (f instanceof InterruptedException) {
            throw new java.io.InterruptedIOException("backup cancelled");
        }
        if (f != null) {
            throw new IOException(f.getMessage() != null ? f.getMessage() : f.toString(), f);
        }
    }

    /** Waits until every submitted unit is done and rethrows the first failure, if any. */
    void finish() throws IOException {
        synchronized (idle) {
            while (unitsOpen.get() > 0 && failure.get() == null) {
                try {
                    idle.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail(e);
                }
            }
        }
        checkFailure();
    }

    /** Cancels the job: queued blocks are dropped, workers stop after their current block. */
    void cancel(Throwable why) {
        fail(why);
    }

    @Override
    public void close() {
        for (int i = 0; i < workers.size(); i++) {
            queue.clear();
            queue.offer(POISON);
        }
        for (Thread t : workers) {
            t.interrupt();
        }
    }

    /** For tests: a completed future, the sink contract of a sink that keeps nothing. */
    static CompletableFuture<Void> done() {
        return CompletableFuture.completedFuture(null);
    }
}
