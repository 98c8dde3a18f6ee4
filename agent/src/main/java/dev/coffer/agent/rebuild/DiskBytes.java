package dev.coffer.agent.rebuild;

import dev.coffer.dedup.Destination;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * The bytes of a backed-up disk, read range by range from its {@link DiskLayout} and the blocks at a
 * destination: what every disk export (raw, streamOptimized, monolithicSparse) writes. Keeps the last
 * {@link #CACHE_BLOCKS} blocks, since a block's clusters may be spread over the disk. Not thread-safe.
 */
final class DiskBytes {
    /** Blocks kept for spans that come back to them. */
    static final int CACHE_BLOCKS = 64;

    private final Destination destination;
    private final DiskLayout layout;
    private final Map<String, ByteBuffer> cache = new LinkedHashMap<>(CACHE_BLOCKS * 2, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ByteBuffer> eldest) {
            return size() > CACHE_BLOCKS;
        }
    };

    DiskBytes(Destination destination, DiskLayout layout) {
        this.destination = destination;
        this.layout = layout;
    }

    /**
     * Copies the disk's bytes {@code [at, at + n)} into {@code buf} from index 0; zeros where no span
     * lies and in the rest of {@code buf}.
     *
     * @throws IOException a block is missing or damaged at the destination, or shorter than the catalog says
     */
    void fill(byte[] buf, long at, int n) throws IOException {
        Arrays.fill(buf, (byte) 0);
        for (DiskLayout.Span s : layout.spans(at, at + n)) {
            long from = Math.max(at, s.diskOffset());
            long to = Math.min(at + n, s.diskOffset() + s.length());
            if (from >= to) {
                continue;
            }
            ByteBuffer block = block(s.sha256());
            long inBlock = s.blockOffset() + (from - s.diskOffset());
            if (inBlock + (to - from) > block.limit()) {
                throw new IOException("block " + HexFormat.of().formatHex(s.sha256()) + " is shorter than the catalog says");
            }
            ByteBuffer part = block.duplicate();
            part.position((int) inBlock).limit((int) (inBlock + (to - from)));
            part.get(buf, (int) (from - at), (int) (to - from));
        }
    }

    private ByteBuffer block(byte[] sha256) throws IOException {
        String key = HexFormat.of().formatHex(sha256);
        ByteBuffer b = cache.get(key);
        if (b == null) {
            try {
                b = destination.get(sha256).get();
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("export cancelled");
            }
            cache.put(key, b);
        }
        return b;
    }
}
