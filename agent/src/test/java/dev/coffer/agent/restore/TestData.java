package dev.coffer.agent.restore;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/** Random file contents and chunk plans for restore-target tests. */
final class TestData {
    static final int CHUNK = 1 << 20;

    private TestData() {}

    static byte[] random(Random rnd, int size) {
        byte[] b = new byte[size];
        rnd.nextBytes(b);
        return b;
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** A file at {@code path} with this content, fixed times and the given policy. */
    static RestoreFile file(List<String> path, byte[] content, ExistingPolicy policy) {
        return new RestoreFile(path, null, content.length, sha256(content), 0, times(), 0x20, null, policy);
    }

    /** A file whose content is checked by its block-tree hash over {@code blockBytes}-long blocks. */
    static RestoreFile treeFile(List<String> path, byte[] content, int blockBytes, ExistingPolicy policy) {
        return new RestoreFile(path, null, content.length, treeHash(content, blockBytes), blockBytes, times(), 0x20, null, policy);
    }

    /** The block-tree hash computed independently of ContentHasher: SHA-256 over the blocks' SHA-256s. */
    static byte[] treeHash(byte[] content, int blockBytes) {
        try {
            MessageDigest outer = MessageDigest.getInstance("SHA-256");
            for (int off = 0; off < content.length; off += blockBytes) {
                MessageDigest inner = MessageDigest.getInstance("SHA-256");
                inner.update(content, off, Math.min(blockBytes, content.length - off));
                outer.update(inner.digest());
            }
            return outer.digest();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static FileTimes times() {
        Instant base = Instant.parse("2021-03-04T05:06:07.123456Z");
        return new FileTimes(base.minus(10, ChronoUnit.DAYS), base, base.plus(1, ChronoUnit.DAYS));
    }

    /** The chunk offsets of a file, shuffled. */
    static List<Long> shuffledOffsets(Random rnd, long size) {
        List<Long> out = new ArrayList<>();
        for (long off = 0; off < size; off += CHUNK) {
            out.add(off);
        }
        Collections.shuffle(out, rnd);
        return out;
    }

    static ByteBuffer chunk(byte[] content, long offset) {
        int len = (int) Math.min(CHUNK, content.length - offset);
        return ByteBuffer.wrap(content, (int) offset, len).slice();
    }
}
