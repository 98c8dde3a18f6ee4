package dev.coffer.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The pipeline's zero check over the slack after a file's last block (the rest: BackupJobTest). */
class BlockPipelineTest {
    @Test
    void allZero_findsANonZeroByteAnywhere_inAnyLength() {
        for (int n : new int[] {0, 1, 7, 4096, 65535, 65536, 65537, 200_000}) {
            for (boolean direct : new boolean[] {false, true}) {
                ByteBuffer b = direct ? ByteBuffer.allocateDirect(n + 10) : ByteBuffer.allocate(n + 10);
                b.put(0, (byte) 1).put(n + 9, (byte) 1); // non-zero bytes just outside the range checked
                ByteBuffer range = b.duplicate().position(1).limit(n + 1);
                assertThat(BlockPipeline.allZero(range)).as("%d zeros", n).isTrue();
                assertThat(range.position()).as("position untouched").isEqualTo(1);
                for (int at : new int[] {0, n / 2, n - 1}) {
                    if (n == 0 || at < 0) {
                        continue;
                    }
                    b.put(1 + at, (byte) 0x40);
                    assertThat(BlockPipeline.allZero(range)).as("%d bytes, non-zero at %d", n, at).isFalse();
                    b.put(1 + at, (byte) 0);
                }
            }
        }
    }
}
