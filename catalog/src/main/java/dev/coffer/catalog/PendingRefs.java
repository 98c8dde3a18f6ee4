package dev.coffer.catalog;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The block references of one {@link FileIngest} that are not yet counted in the {@code block} table: one
 * run per committed batch, each sorted by SHA-256, merged and grouped at {@link FileIngest#finish} so the
 * block table is written once per volume, in key order (docs/perf/catalog.md).
 *
 * <p>A run is a byte array of {@value #RECORD_BYTES}-byte records: SHA-256 (32), MD5 (16), size (u64 little
 * endian). Memory: 56 bytes per reference of the volume until finish (the SQLite temporary table this
 * replaces held the same in SQLite's memory, {@code temp_store = MEMORY}, plus its sort). Not thread-safe.
 */
final class PendingRefs {
    /** Bytes per record: SHA-256 + MD5 + u64 size. */
    static final int RECORD_BYTES = 32 + 16 + 8;
    /** Most records in one run: a byte array holds at most 2^31 - 1 bytes. */
    static final int MAX_RUN_RECORDS = Integer.MAX_VALUE / RECORD_BYTES;

    private final List<byte[]> runs = new ArrayList<>();
    private long count;

    /** One batch's references being collected; {@link #sortedRun} turns it into a run. */
    static final class Batch {
        private byte[] buf = new byte[RECORD_BYTES * 1024];
        private int n;

        void add(Block b) throws LimitExceededCatalogException {
            if (n == MAX_RUN_RECORDS) {
                throw new LimitExceededCatalogException("one ingest batch references more than " + MAX_RUN_RECORDS
                        + " blocks");
            }
            if ((n + 1) * RECORD_BYTES > buf.length) {
                long grown = Math.min((long) buf.length * 2, (long) MAX_RUN_RECORDS * RECORD_BYTES);
                buf = Arrays.copyOf(buf, (int) grown);
            }
            int at = n * RECORD_BYTES;
            System.arraycopy(b.sha256(), 0, buf, at, 32);
            System.arraycopy(b.md5(), 0, buf, at + 32, 16);
            long size = b.sizeBytes();
            for (int i = 0; i < 8; i++) {
                buf[at + 48 + i] = (byte) (size >>> (8 * i));
            }
            n++;
        }

        int size() {
            return n;
        }

        /** The records sorted by SHA-256 (bottom-up merge sort of record indexes: stable, no boxing). */
        byte[] sortedRun() {
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) {
                idx[i] = i;
            }
            int[] tmp = new int[n];
            for (int width = 1; width < n; width *= 2) {
                for (int lo = 0; lo < n; lo += 2 * width) {
                    int mid = Math.min(lo + width, n);
                    int hi = Math.min(lo + 2 * width, n);
                    int a = lo;
                    int b = mid;
                    int o = lo;
                    while (a < mid && b < hi) {
                        tmp[o++] = compareSha(buf, idx[b], buf, idx[a]) < 0 ? idx[b++] : idx[a++];
                    }
                    while (a < mid) {
                        tmp[o++] = idx[a++];
                    }
                    while (b < hi) {
                        tmp[o++] = idx[b++];
                    }
                }
                int[] t = idx;
                idx = tmp;
                tmp = t;
            }
            byte[] run = new byte[n * RECORD_BYTES];
            for (int i = 0; i < n; i++) {
                System.arraycopy(buf, idx[i] * RECORD_BYTES, run, i * RECORD_BYTES, RECORD_BYTES);
            }
            return run;
        }
    }

    static int compareSha(byte[] a, int ra, byte[] b, int rb) {
        return Arrays.compareUnsigned(a, ra * RECORD_BYTES, ra * RECORD_BYTES + 32, b, rb * RECORD_BYTES,
                rb * RECORD_BYTES + 32);
    }

    /** Adds a committed batch's sorted run. */
    void addRun(byte[] run) {
        if (run.length > 0) {
            runs.add(run);
            count += run.length / RECORD_BYTES;
        }
    }

    /** References held. */
    long count() {
        return count;
    }

    void clear() {
        runs.clear();
        count = 0;
    }

    /** Receives each distinct block once, in ascending SHA-256 order, with how many references name it. */
    interface GroupSink {
        void accept(byte[] sha256, byte[] md5, long size, long refs) throws java.sql.SQLException;
    }

    /** Merges every run (k-way, by SHA-256) and hands each distinct block to {@code sink} once, with its reference count. */
    void forEachGrouped(GroupSink sink) throws java.sql.SQLException {
        PriorityQueue<int[]> heap = new PriorityQueue<>((x, y) -> {
            int c = compareSha(runs.get(x[0]), x[1], runs.get(y[0]), y[1]);
            return c != 0 ? c : Integer.compare(x[0], y[0]);
        });
        for (int r = 0; r < runs.size(); r++) {
            heap.add(new int[] {r, 0});
        }
        byte[] curRun = null;
        int curRec = -1;
        long refs = 0;
        while (!heap.isEmpty()) {
            int[] top = heap.poll();
            byte[] run = runs.get(top[0]);
            if (curRun != null && compareSha(curRun, curRec, run, top[1]) == 0) {
                refs++;
            } else {
                if (curRun != null) {
                    emit(sink, curRun, curRec, refs);
                }
                curRun = run;
                curRec = top[1];
                refs = 1;
            }
            if ((top[1] + 1) * RECORD_BYTES < run.length) {
                top[1]++;
                heap.add(top);
            }
        }
        if (curRun != null) {
            emit(sink, curRun, curRec, refs);
        }
    }

    /** Grouped blocks handed from the merging thread to the caller, {@link #CHUNK_ROWS} at a time. */
    private static final class Chunk {
        final byte[][] sha = new byte[CHUNK_ROWS][];
        final byte[][] md5 = new byte[CHUNK_ROWS][];
        final long[] size = new long[CHUNK_ROWS];
        final long[] refs = new long[CHUNK_ROWS];
        int n;
    }

    /** Rows per chunk of {@link #forEachGroupedConcurrently}: 4096 (~0.4 MiB with the arrays). */
    static final int CHUNK_ROWS = 4096;
    /** Chunks the merging thread may run ahead: 4, enough to keep the consumer busy, bounded memory. */
    static final int CHUNKS_AHEAD = 4;
    private static final Chunk END = new Chunk();

    /**
     * {@link #forEachGrouped}, with the k-way merge running on a helper thread (started and joined here) while
     * {@code sink} runs on the calling thread: at finish of a full backup the merge (~0.8 s for 2M references)
     * then overlaps SQLite's inserts instead of preceding them. A failure on either side stops both; the
     * helper never outlives this call.
     */
    void forEachGroupedConcurrently(GroupSink sink) throws java.sql.SQLException {
        java.util.concurrent.ArrayBlockingQueue<Chunk> queue = new java.util.concurrent.ArrayBlockingQueue<>(CHUNKS_AHEAD);
        Throwable[] failure = {null};
        Thread merger = new Thread(() -> {
            Chunk[] cur = {new Chunk()};
            try {
                forEachGrouped((sha, md5, size, refs) -> {
                    Chunk c = cur[0];
                    c.sha[c.n] = sha;
                    c.md5[c.n] = md5;
                    c.size[c.n] = size;
                    c.refs[c.n] = refs;
                    if (++c.n == CHUNK_ROWS) {
                        put(queue, c);
                        cur[0] = new Chunk();
                    }
                });
                if (cur[0].n > 0) {
                    put(queue, cur[0]);
                }
            } catch (Throwable t) {
                failure[0] = t;
            } finally {
                try {
                    queue.put(END);
                } catch (InterruptedException e) {
                    // the consumer stopped (it failed) and is clearing the queue while it waits for this thread
                }
            }
        }, "catalog-merge");
        merger.setDaemon(true);
        merger.start();
        boolean done = false;
        try {
            while (true) {
                Chunk c;
                try {
                    c = queue.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.sql.SQLException("interrupted while merging block references", e);
                }
                if (c == END) {
                    break;
                }
                for (int i = 0; i < c.n; i++) {
                    sink.accept(c.sha[i], c.md5[i], c.size[i], c.refs[i]);
                }
            }
            done = true;
        } finally {
            boolean interrupted = false;
            while (merger.isAlive()) {
                if (!done) {
                    // stop it and make room, so neither a chunk nor the end marker can block it
                    merger.interrupt();
                    queue.clear();
                }
                try {
                    merger.join(done ? 0 : 10);
                } catch (InterruptedException e) {
                    interrupted = true;
                    done = false;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (failure[0] instanceof RuntimeException r) {
            throw r;
        }
        if (failure[0] instanceof Error e) {
            throw e;
        }
        if (failure[0] != null) {
            throw new java.sql.SQLException("merging block references failed", failure[0]);
        }
    }

    private static void put(java.util.concurrent.ArrayBlockingQueue<Chunk> queue, Chunk c) {
        try {
            queue.put(c);
        } catch (InterruptedException e) {
            throw new java.util.concurrent.CancellationException("block reference merge cancelled");
        }
    }

    private static void emit(GroupSink sink, byte[] run, int rec, long refs) throws java.sql.SQLException {
        int at = rec * RECORD_BYTES;
        long size = 0;
        for (int i = 7; i >= 0; i--) {
            size = size << 8 | (run[at + 48 + i] & 0xff);
        }
        sink.accept(Arrays.copyOfRange(run, at, at + 32), Arrays.copyOfRange(run, at + 32, at + 48), size, refs);
    }
}
