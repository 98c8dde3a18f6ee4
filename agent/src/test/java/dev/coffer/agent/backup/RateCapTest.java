package dev.coffer.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RateCapTest {
    @Test
    void capHoldsTheRateAfterTheFirstSecondsWorth() throws Exception {
        RateCap cap = new RateCap(8 << 20);   // 8 MiB/s, one second of burst
        long t0 = System.nanoTime();
        for (int i = 0; i < 16; i++) {
            cap.acquire(1 << 20);   // 16 MiB: 8 from the burst, 8 more at 8 MiB/s
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertThat(seconds).isBetween(0.8, 3.0);
    }

    @Test
    void noCapAddsNothingAndInnerPacingStillRuns() throws Exception {
        AtomicLong seen = new AtomicLong();
        ReadThrottle t = new RateCap(0).after(seen::addAndGet);
        t.acquire(5);
        assertThat(seen).hasValue(5);
        ReadThrottle both = new RateCap(1 << 30).after(seen::addAndGet);
        both.acquire(7);
        assertThat(seen).hasValue(12);
    }
}
