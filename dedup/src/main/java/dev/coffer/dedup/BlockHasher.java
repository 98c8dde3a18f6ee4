package dev.coffer.dedup;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Computes a block's SHA-256 and MD5 in one pass over its bytes.
 *
 * <p>"One pass": the block is fed to both digests in {@link #STRIPE_BYTES} stripes, so each stripe
 * is read from memory once and is still in the L1/L2 cache when the second digest consumes it.
 * The digests are {@link Digests}': OpenSSL's where it loads, else the JDK's; both use the CPU's SHA
 * instructions where it has them.
 *
 * <p>An instance holds two digests and is not thread-safe; use one per thread, or
 * {@link #hashAll(List, Executor)} which does so across cores.
 */
public final class BlockHasher {
    /** Stripe fed to each digest in turn: 32 KiB fits in L1d with room to spare on every x86 core. */
    static final int STRIPE_BYTES = 32 * 1024;

    private static final ThreadLocal<BlockHasher> PER_THREAD = ThreadLocal.withInitial(BlockHasher::new);

    private final Digests.Digest sha256 = Digests.sha256();
    private final Digests.Digest md5 = Digests.md5();
    /** Where {@link #hash} copies heap stripes for libcrypto; allocated on first need. */
    private ByteBuffer stripeCopy;

    /** A hasher with fresh digests ({@link Digests}: libcrypto's where available, else the JDK's). */
    public BlockHasher() {}

    /** The calling thread's hasher (one per thread, reused). */
    public static BlockHasher forThread() {
        return PER_THREAD.get();
    }

    /**
     * Hashes the remaining bytes of {@code block} (position to limit) without moving its position.
     *
     * @return both digests of exactly those bytes
     */
    public BlockHash hash(ByteBuffer block) {
        ByteBuffer b = block.duplicate();
        sha256.reset();
        md5.reset();
        // libcrypto reads native memory: a heap stripe is copied once into a direct one that both
        // digests read, rather than once per digest
        boolean copy = !b.isDirect() && Digests.nativeDigests();
        if (copy && stripeCopy == null) {
            stripeCopy = ByteBuffer.allocateDirect(STRIPE_BYTES);
        }
        while (b.hasRemaining()) {
            int n = Math.min(STRIPE_BYTES, b.remaining());
            ByteBuffer stripe = b.slice(b.position(), n);
            if (copy) {
                stripe = stripeCopy.clear().put(stripe).flip();
            }
            sha256.update(stripe);
            stripe.rewind();
            md5.update(stripe);
            b.position(b.position() + n);
        }
        return new BlockHash(sha256.digest(), md5.digest());
    }

    /** SHA-256 alone of the remaining bytes of {@code block}, without moving its position (server-side verification). */
    public byte[] sha256(ByteBuffer block) {
        sha256.reset();
        sha256.update(block.duplicate());
        return sha256.digest();
    }

    /**
     * SHA-256 and CRC-32C of the remaining bytes of {@code parts}, in order, in one pass: each
     * {@link #STRIPE_BYTES} stripe is read from memory once and is still in cache for the second sum
     * (the server's check of an upload). Positions are unchanged.
     *
     * @param crc receives the bytes (pass a fresh {@link java.util.zip.CRC32C})
     */
    byte[] sha256WithCrc(ByteBuffer[] parts, java.util.zip.CRC32C crc) {
        sha256.reset();
        for (ByteBuffer part : parts) {
            ByteBuffer b = part.duplicate();
            while (b.hasRemaining()) {
                int n = Math.min(STRIPE_BYTES, b.remaining());
                ByteBuffer stripe = b.slice(b.position(), n);
                crc.update(stripe);
                stripe.rewind();
                sha256.update(stripe);
                b.position(b.position() + n);
            }
        }
        return sha256.digest();
    }

    /** SHA-256 of the remaining bytes of {@code parts}, in order, without moving their positions. */
    public byte[] sha256(ByteBuffer[] parts) {
        sha256.reset();
        for (ByteBuffer p : parts) {
            sha256.update(p.duplicate());
        }
        return sha256.digest();
    }

    /** SHA-256 of {@code len} bytes of {@code a} from {@code off}. */
    public byte[] sha256(byte[] a, int off, int len) {
        sha256.reset();
        sha256.update(a, off, len);
        return sha256.digest();
    }

    /**
     * Hashes many blocks in parallel on {@code executor}, one task per block, each on that worker's
     * own hasher. The result list is in input order.
     */
    public static CompletableFuture<List<BlockHash>> hashAll(List<ByteBuffer> blocks, Executor executor) {
        List<CompletableFuture<BlockHash>> parts = new ArrayList<>(blocks.size());
        for (ByteBuffer b : blocks) {
            ByteBuffer view = b.duplicate();
            parts.add(CompletableFuture.supplyAsync(() -> forThread().hash(view), executor));
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(v -> {
            List<BlockHash> out = new ArrayList<>(parts.size());
            for (CompletableFuture<BlockHash> f : parts) {
                out.add(f.join());
            }
            return out;
        });
    }
}
