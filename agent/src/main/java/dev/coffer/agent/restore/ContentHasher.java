package dev.coffer.agent.restore;

import java.nio.ByteBuffer;
import dev.coffer.dedup.Digests;

/**
 * Computes the content hash a {@link RestoreFile} is checked against, fed the content in order.
 * With {@code blockBytes == 0} it is the SHA-256 of the content; with {@code blockBytes > 0} it is
 * the block-tree hash: the SHA-256 of the concatenated SHA-256 digests of the content's
 * {@code blockBytes}-long blocks (the last one shorter; no blocks, hence SHA-256 of nothing, for an
 * empty file). The tree form lets a restore be checked against the per-block hashes the catalog
 * already holds, without knowing the whole file's SHA-256. Not thread-safe.
 */
final class ContentHasher {
    private final int blockBytes;
    private final Digests.Digest outer = Digests.sha256();
    private final Digests.Digest inner;
    /** Bytes of the current block hashed so far. */
    private long inBlock;

    ContentHasher(int blockBytes) {
        this.blockBytes = blockBytes;
        this.inner = blockBytes > 0 ? Digests.sha256() : null;
    }

    /** Hashes the buffer's remaining bytes (consuming them). */
    void update(ByteBuffer b) {
        if (blockBytes == 0) {
            outer.update(b);
            return;
        }
        while (b.hasRemaining()) {
            int n = (int) Math.min(b.remaining(), blockBytes - inBlock);
            ByteBuffer part = b.slice().limit(n);
            inner.update(part);
            b.position(b.position() + n);
            inBlock += n;
            if (inBlock == blockBytes) {
                byte[] d = inner.digest();
                outer.update(d, 0, d.length);
                inBlock = 0;
            }
        }
    }

    /** True when the next byte starts a block of the tree (always for a plain SHA-256). */
    boolean atBlockStart() {
        return inBlock == 0;
    }

    /**
     * Takes the SHA-256 of the next whole block (or of the content's last, shorter one), hashed
     * elsewhere, in place of its bytes. Only for the tree hash, at a block start.
     */
    void updateBlockDigest(byte[] blockSha256) {
        if (blockBytes == 0 || inBlock != 0) {
            throw new IllegalStateException("a block digest fits only a tree hash at a block start");
        }
        outer.update(blockSha256, 0, blockSha256.length);
    }

    /** Finishes and returns the hash; the hasher is reset. */
    byte[] digest() {
        if (blockBytes > 0 && inBlock > 0) {
            byte[] d = inner.digest();
            outer.update(d, 0, d.length);
        }
        inBlock = 0;
        return outer.digest();
    }

    /** Starts over. */
    void reset() {
        outer.reset();
        if (inner != null) {
            inner.reset();
        }
        inBlock = 0;
    }

    /** The hash of a whole content in one call. */
    static byte[] of(byte[] content, int blockBytes) {
        ContentHasher h = new ContentHasher(blockBytes);
        h.update(ByteBuffer.wrap(content));
        return h.digest();
    }
}
