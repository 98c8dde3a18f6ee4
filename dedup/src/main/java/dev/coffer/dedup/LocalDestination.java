package dev.coffer.dedup;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * A {@link Destination} backed by a {@link BlockStore} in this process ({@code coffer backup --destination DIR}).
 * Same semantics as {@link RemoteDestination}: compression policy, verification, durable acknowledgements,
 * bounded in-flight bytes.
 */
public final class LocalDestination implements Destination {
    private final BlockStore store;
    private final BlockCodecs codecs;
    private final ExecutorService executor;
    private final Semaphore budget;
    private final int budgetPermits;
    private final Set<CompletableFuture<?>> inFlight = ConcurrentHashMap.newKeySet();

    private LocalDestination(BlockStore store, BlockCodecs codecs, long maxInFlightBytes) {
        this.store = store;
        this.codecs = codecs;
        this.budgetPermits = (int) Math.min(Integer.MAX_VALUE, maxInFlightBytes);
        this.budget = new Semaphore(budgetPermits);
        AtomicInteger n = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "coffer-local-dest-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Opens (creating, recovering) the store in {@code dir} with default options and a 64 MiB in-flight budget. */
    public static LocalDestination open(Path dir) throws java.io.IOException {
        return new LocalDestination(BlockStore.open(dir), BlockCodecs.defaults(), 64L << 20);
    }

    /**
     * Opens the existing store in {@code dir} for reading only ({@link BlockStore#openForReading}): a
     * restore, which neither recovers nor writes the store; puts fail.
     */
    public static LocalDestination openForReading(Path dir) throws java.io.IOException {
        return new LocalDestination(BlockStore.openForReading(dir), BlockCodecs.defaults(), 64L << 20);
    }

    /** Opens the store with explicit options. */
    public static LocalDestination open(Path dir, StoreOptions storeOptions, BlockCodecs codecs, long maxInFlightBytes)
            throws java.io.IOException {
        return new LocalDestination(BlockStore.open(dir, storeOptions), codecs, maxInFlightBytes);
    }

    /** The underlying store (verify, gc, stats). */
    public BlockStore store() {
        return store;
    }

    // track, async and getWithoutHashing use classes, not lambdas: a restore's workers call them at the
    // same moment, and when several threads link one lambda at once, every thread but the first spins
    // its own copy at run time (the JDK's bytecode generator, a few ms each on a one-file restore's
    // critical path) instead of taking the one in the launcher's class-data archive.

    private <T> CompletableFuture<T> track(CompletableFuture<T> f) {
        inFlight.add(f);
        f.whenComplete(new Untrack<>(inFlight, f));
        return f;
    }

    /** Takes a finished operation off {@code inFlight}. */
    private record Untrack<T>(Set<CompletableFuture<?>> inFlight, CompletableFuture<T> f) implements BiConsumer<T, Throwable> {
        @Override
        public void accept(T value, Throwable failure) {
            inFlight.remove(f);
        }
    }

    private interface Body<T> {
        T run() throws java.io.IOException;
    }

    /** Runs a {@link Body} on the executor, its IOException as the future's failure. */
    private record Call<T>(Body<T> body) implements Supplier<T> {
        @Override
        public T get() {
            try {
                return body.run();
            } catch (java.io.IOException e) {
                throw new CompletionException(e);
            }
        }
    }

    private <T> CompletableFuture<T> async(Body<T> body) {
        return track(CompletableFuture.supplyAsync(new Call<>(body), executor));
    }

    @Override
    public CompletableFuture<BitSet> has(List<byte[]> sha256s) {
        List<byte[]> copy = List.copyOf(sha256s);
        return async(() -> store.hasAll(copy));
    }

    @Override
    public CompletableFuture<PutResult> put(byte[] sha256, ByteBuffer raw) {
        if (raw.remaining() < 1 || raw.remaining() > PackRecord.MAX_BLOCK_BYTES) {
            return CompletableFuture.failedFuture(new LimitExceededException("block " + BlockStore.hex(sha256) + ": "
                    + raw.remaining() + " bytes outside 1.." + PackRecord.MAX_BLOCK_BYTES));
        }
        int permits = Math.min(budgetPermits, raw.remaining());
        try {
            budget.acquire(permits);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new DedupException("interrupted waiting for the in-flight budget", e));
        }
        ByteBuffer view = raw.duplicate();
        byte[] sha = sha256.clone();
        // the caller computed sha256 over these very bytes in this process: the store skips re-hashing them
        // and checks only that the compressed form decodes back to them (docs/store.md, "Write path")
        CompletableFuture<PutResult> f = CompletableFuture.supplyAsync(() -> codecs.encode(view), executor)
                .thenCompose(e -> store.putTrusted(sha, view, e));
        f.whenComplete((v, e) -> budget.release(permits));
        return track(f);
    }

    @Override
    public CompletableFuture<ByteBuffer> get(byte[] sha256) {
        byte[] sha = sha256.clone();
        return async(() -> store.get(sha));
    }

    @Override
    public CompletableFuture<ByteBuffer> getWithoutHashing(byte[] sha256) {
        byte[] sha = sha256.clone();
        return async(new Body<ByteBuffer>() {
            @Override
            public ByteBuffer run() throws java.io.IOException {
                return store.getWithoutHashing(sha);
            }
        });
    }

    @Override
    public CompletableFuture<Void> commitManifest(String backupId, List<byte[]> sha256s) {
        List<byte[]> copy = List.copyOf(sha256s);
        return flush().thenCompose(v -> async(() -> {
            store.commitManifest(backupId, copy.iterator());
            return null;
        }));
    }

    @Override
    public CompletableFuture<List<ManifestInfo>> listManifests() {
        return async(store::listManifests);
    }

    @Override
    public CompletableFuture<Boolean> deleteManifest(String backupId) {
        return async(() -> store.deleteManifest(backupId));
    }

    @Override
    public CompletableFuture<Void> flush() {
        List<CompletableFuture<?>> fs = new ArrayList<>();
        for (CompletableFuture<?> f : inFlight) {
            fs.add(f.handle((v, e) -> null));
        }
        return CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new));
    }

    @Override
    public void close() throws DedupException {
        flush().join();
        executor.shutdown();
        try {
            store.close();
        } catch (java.io.IOException e) {
            throw e instanceof DedupException d ? d : new DedupException(store.dir() + ": close failed: " + e.getMessage(), e);
        }
    }
}
