package dev.coffer.agent.load;

import static dev.coffer.agent.load.IoGovernorOptions.MIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.agent.load.Decision.Action;
import java.io.IOException;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class IoGovernorTest {
    /** A probe that returns scripted samples, then quiet periods. */
    static final class ScriptedProbe implements LoadProbe {
        final Deque<Object> script = new ArrayDeque<>();

        @Override
        public LoadSample sample() throws IOException {
            Object next = script.poll();
            if (next instanceof IOException e) {
                throw e;
            }
            return next == null ? Samples.quiet(250, 0, MIB) : (LoadSample) next;
        }
    }

    private final FakeClock clock = new FakeClock();
    private final ScriptedProbe probe = new ScriptedProbe();

    private IoGovernor fixedRate(long rate) {
        return new IoGovernor(IoGovernorOptions.defaults().withRates(rate, rate, rate), probe, clock);
    }

    @Test
    void acquire_holdsTheAverageRate() throws Exception {
        IoGovernor g = fixedRate(10 * MIB);
        long start = clock.nanoTime();
        for (int i = 0; i < 100; i++) {
            g.acquire(MIB);
        }
        double seconds = (clock.nanoTime() - start) / 1e9;
        // 100 MiB at 10 MiB/s: 10 s, less the one bucket's worth (1 MiB) granted up front
        assertThat(seconds).isBetween(9.8, 10.1);
        assertThat(g.grantedTotal()).isEqualTo(100 * MIB);
    }

    @Test
    void acquire_rejectsNegativeSizes() {
        IoGovernor g = fixedRate(10 * MIB);
        assertThatThrownBy(() -> g.acquire(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tryAcquire_failsWhileInDebt() {
        IoGovernor g = fixedRate(MIB);
        assertThat(g.tryAcquire(8 * MIB)).isTrue();
        assertThat(g.tryAcquire(1)).isFalse();
        clock.advanceMillis(8_000);
        assertThat(g.tryAcquire(1)).isTrue();
    }

    @Test
    void cap_limitsTheRateImmediately() throws Exception {
        IoGovernor g = new IoGovernor(IoGovernorOptions.defaults(), probe, clock);
        g.setCapBytesPerSecond(2 * MIB);
        assertThat(g.rateBytesPerSecond()).isEqualTo(2 * MIB);
        long start = clock.nanoTime();
        for (int i = 0; i < 20; i++) {
            g.acquire(MIB);
        }
        // 20 MiB at 2 MiB/s: 10 s less the first read, granted at once
        assertThat((clock.nanoTime() - start) / 1e9).isBetween(9.4, 10.1);
        // quiet periods with waiting readers cannot raise it over the cap
        for (int i = 0; i < 10; i++) {
            g.acquire(MIB);
            clock.advanceMillis(250);
            g.tick();
        }
        assertThat(g.rateBytesPerSecond()).isEqualTo(2 * MIB);
        g.setCapBytesPerSecond(0);
        g.acquire(MIB);
        g.acquire(MIB);
        assertThat(g.tick().action()).isEqualTo(Action.SLOW_START);
        // slow start adds max(rate, additive step): 2 + max(2, 2) MiB/s
        assertThat(g.rateBytesPerSecond()).isEqualTo(2 * MIB + Math.max(2 * MIB, g.options().additiveStep()));
    }

    @Test
    void window_blocksReadersUntilItOpens() throws Exception {
        FakeClock early = new FakeClock(Instant.parse("2026-11-22T00:59:00Z"));
        IoWindow oneToTwo = new IoWindow(LocalTime.of(1, 0), LocalTime.of(2, 0), ZoneId.of("UTC"));
        IoGovernor g = new IoGovernor(IoGovernorOptions.defaults().withWindow(oneToTwo), probe, early);
        assertThat(g.paused()).isTrue();
        assertThat(g.tick().action()).isEqualTo(Action.PAUSED);
        assertThat(g.decision().reason()).contains("outside the window 01:00-02:00");
        g.acquire(MIB);
        assertThat(early.instant()).isAfterOrEqualTo(Instant.parse("2026-11-22T01:00:00Z"));
        assertThat(g.paused()).isFalse();
    }

    @Test
    void window_spanningMidnight() {
        IoWindow night = new IoWindow(LocalTime.of(22, 0), LocalTime.of(6, 0), ZoneId.of("UTC"));
        assertThat(night.contains(Instant.parse("2026-11-22T23:00:00Z"))).isTrue();
        assertThat(night.contains(Instant.parse("2026-11-22T05:59:59Z"))).isTrue();
        assertThat(night.contains(Instant.parse("2026-11-22T06:00:00Z"))).isFalse();
        assertThat(night.contains(Instant.parse("2026-11-22T12:00:00Z"))).isFalse();
        assertThat(IoWindow.ALWAYS.contains(Instant.parse("2026-11-22T12:00:00Z"))).isTrue();
    }

    @Test
    void paused_acquireIsInterruptible() throws Exception {
        IoGovernor g = fixedRate(MIB);
        g.setPaused(true);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                g.acquire(MIB);
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        t.start();
        t.interrupt();
        t.join(10_000);
        assertThat(t.isAlive()).isFalse();
        assertThat(thrown.get()).isInstanceOf(InterruptedException.class);
        assertThat(g.grantedTotal()).isZero();
        assertThat(g.tick().reason()).isEqualTo("paused through the API");
    }

    @Test
    void foregroundLoad_dropsTheRateAndDecisionsSayWhy() throws Exception {
        IoGovernor g = new IoGovernor(IoGovernorOptions.defaults(), probe, clock);
        // readers keep waiting: two quiet periods double the rate twice
        for (int i = 0; i < 2; i++) {
            drain(g);
            probe.script.add(Samples.quiet(250, g.grantedTotal(), MIB));
            clock.advanceMillis(250);
            assertThat(g.tick().action()).isEqualTo(Action.SLOW_START);
        }
        assertThat(g.rateBytesPerSecond()).isEqualTo(64 * MIB);
        drain(g);
        probe.script.add(Samples.foreground(250, 30_000, 0.04, 16 * MIB, MIB));
        clock.advanceMillis(250);
        Decision d = g.tick();
        assertThat(d.action()).isEqualTo(Action.YIELD);
        assertThat(g.rateBytesPerSecond()).isEqualTo(MIB);
        assertThat(d.signals().foregroundIops()).isGreaterThan(29_000);
        assertThat(d.grantedBytesTotal()).isEqualTo(g.grantedTotal());
        assertThat(g.history()).extracting(Decision::action)
                .containsExactly(Action.START, Action.SLOW_START, Action.SLOW_START, Action.YIELD);
    }

    @Test
    void probeFailure_dropsToTheFloorAndSaysSo() {
        IoGovernor g = new IoGovernor(IoGovernorOptions.defaults(), probe, clock);
        probe.script.add(new LoadProbeException("/proc/diskstats: cannot read"));
        Decision d = g.tick();
        assertThat(d.action()).isEqualTo(Action.PROBE_FAILED);
        assertThat(d.rateBytesPerSecond()).isEqualTo(MIB);
        assertThat(d.reason()).contains("/proc/diskstats");
    }

    @Test
    void history_isBounded() {
        IoGovernorOptions o = IoGovernorOptions.defaults();
        IoGovernor g = new IoGovernor(o, probe, clock);
        for (int i = 0; i < o.historySize() + 50; i++) {
            clock.advanceMillis(250);
            g.tick();
        }
        assertThat(g.history()).hasSize(o.historySize());
    }

    @Test
    void startAndStop_runTheSamplingThread() throws Exception {
        IoGovernor g = new IoGovernor(IoGovernorOptions.defaults(), probe, clock);
        g.start();
        // the fake clock advances as the thread sleeps; wait (bounded) for a few decisions
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (g.history().size() < 5 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        g.stop();
        int n = g.history().size();
        assertThat(n).isGreaterThanOrEqualTo(5);
        long until = System.nanoTime() + 50_000_000L;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
        assertThat(g.history()).hasSize(n);
    }

    /** Takes a period's worth of bytes at the current rate, so that readers waited. */
    private void drain(IoGovernor g) throws InterruptedException {
        long target = g.rateBytesPerSecond() / 4;
        for (long got = 0; got < target; got += MIB / 4) {
            g.tryAcquire(MIB / 4);
        }
        g.acquire(MIB / 4);
        g.acquire(MIB / 4);
    }
}
