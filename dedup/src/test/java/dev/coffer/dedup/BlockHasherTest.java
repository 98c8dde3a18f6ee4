package dev.coffer.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.testkit.Fixtures;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlockHasherTest {
    @TempDir
    Path dir;

    @Test
    void hash_matchesSha256sumAndMd5sum() throws Exception {
        for (int size : new int[] {0, 1, BlockHasher.STRIPE_BYTES - 1, BlockHasher.STRIPE_BYTES + 1, 1 << 20}) {
            byte[] data = TestBlocks.random(size, size);
            Path f = dir.resolve("b" + size);
            Files.write(f, data);
            BlockHash h = new BlockHasher().hash(ByteBuffer.wrap(data));
            assertThat(h.sha256Hex()).isEqualTo(Fixtures.run("sha256sum", f.toString()).split(" ")[0]);
            assertThat(h.md5Hex()).isEqualTo(Fixtures.run("md5sum", f.toString()).split(" ")[0]);
        }
    }

    @Test
    void hash_coversOnlyPositionToLimit_andLeavesPositionAlone() {
        byte[] data = TestBlocks.random(3, 10_000);
        ByteBuffer b = ByteBuffer.allocateDirect(10_000).put(data).flip();
        b.position(100).limit(9000);
        BlockHash h = new BlockHasher().hash(b);
        assertThat(b.position()).isEqualTo(100);
        assertThat(h).isEqualTo(new BlockHasher().hash(ByteBuffer.wrap(data, 100, 8900)));
    }

    @Test
    void hashAll_isInInputOrder() {
        List<ByteBuffer> blocks = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            blocks.add(ByteBuffer.wrap(TestBlocks.random(i, 70_000)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<BlockHash> hs = BlockHasher.hashAll(blocks, pool).join();
            for (int i = 0; i < 20; i++) {
                assertThat(hs.get(i)).isEqualTo(new BlockHasher().hash(blocks.get(i)));
            }
        } finally {
            pool.shutdown();
        }
    }
}
