package dev.coffer.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark scaled down for CI: the re-send costs under 1% on the wire; everything lands and verifies. */
@Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS) // a hang fails the test, never the build
class DedupBenchTest {
    @TempDir
    Path dir;

    @Test
    void wire_resendCostsUnderOnePercent() throws Exception {
        DedupBench.Result r = DedupBench.wire(dir.resolve("store"), 48, 2);
        System.out.println(r);
        assertThat(r.newWireBytes()).isGreaterThanOrEqualTo(48L << 20); // incompressible: all of it crosses
        assertThat(r.resendWirePercent()).isLessThan(1.0);
        try (BlockStore s = BlockStore.open(dir.resolve("store"))) {
            assertThat(s.stats().blocks()).isEqualTo(48);
            assertThat(s.listManifests()).hasSize(2);
            assertThat(s.verify().ok()).isTrue();
        }
    }
}
