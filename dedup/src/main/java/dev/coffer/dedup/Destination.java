package dev.coffer.dedup;

import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Where backups go and restores come from: a content-addressed block store plus committed manifests.
 * Two implementations: {@link LocalDestination} (a {@link BlockStore} in this process) and
 * {@link RemoteDestination} (a pipelined session to a {@code coffer destination} server).
 *
 * <p>All methods are asynchronous and may be called from many threads; calls pipeline. Memory is
 * bounded: {@link #put} blocks its caller while the bytes already in flight exceed the budget.
 * Futures fail with a {@link DedupException} (often a {@link RemoteException} with the protocol code).
 */
public interface Destination extends AutoCloseable {
    /** Which blocks the destination holds: bit i set when {@code sha256s.get(i)} is durably stored. Any batch size. */
    CompletableFuture<BitSet> has(List<byte[]> sha256s);

    /**
     * Compresses (when it pays), sends and stores one block; completes when the destination has it durably.
     * Blocks the caller while the in-flight budget is exhausted. {@code raw}'s remaining bytes are the block;
     * the caller must not modify them until the future completes.
     *
     * @param sha256 the SHA-256 of the raw bytes (checked by the destination)
     */
    CompletableFuture<PutResult> put(byte[] sha256, ByteBuffer raw);

    /** Reads a block, checked against its SHA-256 after decompression. */
    CompletableFuture<ByteBuffer> get(byte[] sha256);

    /**
     * Reads a block for a caller that checks the content end to end itself, as a file restore does
     * when the target compares what it wrote with the catalog's tree hash: the destination may skip
     * hashing the block and check only how it is stored (record and payload CRCs, lengths, decoding).
     * A remote destination hashes anyway: what crossed the network is checked where it arrives.
     */
    default CompletableFuture<ByteBuffer> getWithoutHashing(byte[] sha256) {
        return get(sha256);
    }

    /**
     * Makes a backup's manifest durable after every earlier {@link #put} of this destination has completed;
     * fails with {@link MissingBlocksException} / {@code MISSING_BLOCKS} when a listed block is absent.
     */
    CompletableFuture<Void> commitManifest(String backupId, List<byte[]> sha256s);

    /** The committed manifests, sorted by backup id. */
    CompletableFuture<List<ManifestInfo>> listManifests();

    /** Deletes a manifest (pruning); true when it existed. Its blocks are reclaimed by the next GC. */
    CompletableFuture<Boolean> deleteManifest(String backupId);

    /** Completes when every call made before it has completed (successfully or not). */
    CompletableFuture<Void> flush();

    /** Waits for in-flight work, then releases connections, threads and files. */
    @Override
    void close() throws DedupException;
}
