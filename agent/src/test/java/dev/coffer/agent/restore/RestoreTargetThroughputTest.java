package dev.coffer.agent.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The throughput bench at CI size: both targets restore a small tree correctly; the rate is printed, not asserted (shared CI cores). */
class RestoreTargetThroughputTest {
    @TempDir
    Path tmp;

    @Test
    void bench_smallTree_bothTargets_restoreEveryByte() throws Exception {
        RestoreTargetBench b = new RestoreTargetBench(48L << 20, 4, 3);
        for (String mode : new String[] {"dir", "http"}) {
            Path root = tmp.resolve(mode);
            RestoreTargetBench.Result r = b.measure(mode, root, 3, 1, false).get(0);
            System.out.printf("restore-target %s: %.0f MB/s over %d bytes%n", mode, r.mbPerSecond(), r.bytes());
            for (int i = 0; i < 4; i++) {
                Path f = root.resolve("run1/file" + i + ".bin");
                assertThat(Files.size(f)).isEqualTo(b.file("run1", i).size());
                byte[] tree = TestData.treeHash(Files.readAllBytes(f), TestData.CHUNK);
                assertThat(HexFormat.of().formatHex(tree)).isEqualTo(HexFormat.of().formatHex(b.file("run1", i).sha256()));
            }
        }
    }
}
