package dev.coffer.dedup;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/** Deterministic test blocks: incompressible (random) and compressible (log-like text). */
final class TestBlocks {
    private TestBlocks() {}

    static byte[] random(long seed, int size) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] b = new byte[size];
        for (int i = 0; i < size; i += 8) {
            long v = r.nextLong();
            for (int j = 0; j < 8 && i + j < size; j++) {
                b[i + j] = (byte) (v >>> (8 * j));
            }
        }
        return b;
    }

    static byte[] text(long seed, int size) {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder(size + 200);
        String[] words = {"INFO", "WARN", "request", "served", "user", "GET", "/api/v1/items", "200", "404", "latency_ms"};
        while (sb.length() < size) {
            sb.append("2026-11-22T03:").append(r.nextInt(60)).append(' ').append(words[r.nextInt(words.length)])
                    .append(' ').append(words[r.nextInt(words.length)]).append(" id=").append(r.nextInt(100000)).append('\n');
        }
        return sb.substring(0, size).getBytes(StandardCharsets.US_ASCII);
    }

    /** The bytes a block read gives: its remaining bytes (a read may be a view of a larger buffer). */
    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    static byte[] sha(byte[] b) {
        return new BlockHasher().sha256(ByteBuffer.wrap(b));
    }
}
