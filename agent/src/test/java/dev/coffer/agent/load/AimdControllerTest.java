package dev.coffer.agent.load;

import static dev.coffer.agent.load.IoGovernorOptions.MIB;
import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.load.Decision.Action;
import org.junit.jupiter.api.Test;

class AimdControllerTest {
    private static final long P = 250;
    private static final long NO_CAP = Long.MAX_VALUE;
    private final IoGovernorOptions opts = IoGovernorOptions.defaults();
    private long now;

    private Decision step(AimdController c, LoadSample s, long backupBytes, boolean demand) {
        now += s.intervalNanos();
        return c.decide(s, backupBytes, demand, now, NO_CAP);
    }

    @Test
    void quietPeriods_doubleTheRateWhileReadersWait() {
        AimdController c = new AimdController(opts);
        long r0 = c.rate;
        Decision d = step(c, Samples.quiet(P, r0 / 4, MIB), r0 / 4, true);
        assertThat(d.action()).isEqualTo(Action.SLOW_START);
        assertThat(d.rateBytesPerSecond()).isEqualTo(2 * r0);
        assertThat(d.signals().foregroundActive()).isFalse();
        d = step(c, Samples.quiet(P, r0 / 2, MIB), r0 / 2, true);
        assertThat(d.rateBytesPerSecond()).isEqualTo(4 * r0);
    }

    @Test
    void quietPeriods_holdWhenReadersDidNotWait() {
        AimdController c = new AimdController(opts);
        Decision d = step(c, Samples.quiet(P, MIB, MIB), MIB, false);
        assertThat(d.action()).isEqualTo(Action.HOLD);
        assertThat(d.rateBytesPerSecond()).isEqualTo(opts.initialRate());
        assertThat(d.reason()).contains("did not wait");
    }

    @Test
    void backupsOwnReads_areNotForeground() {
        AimdController c = new AimdController(opts);
        c.rate = 1024 * MIB;
        // 256 MiB in 4 MiB requests: 64 ios; the request size is learnt from this quiet period
        step(c, Samples.quiet(P, 256 * MIB, 4 * MIB), 256 * MIB, true);
        // same again plus 20 foreign ios (80 IOPS, under the threshold): still quiet
        LoadSample s = Samples.disk(P, 64 + 20, 256 * MIB + 20 * 4096, 2.0, 0, 0);
        Decision d = step(c, s, 256 * MIB, true);
        // the learnt size decays by 0.1% a period, so the backup's share is slightly overestimated
        assertThat(d.signals().backupRequestBytes()).isBetween(4 * MIB * 99 / 100, 4 * MIB);
        assertThat(d.signals().foregroundIops()).isBetween(72.0, 80.0);
        assertThat(d.signals().foregroundActive()).isFalse();
        assertThat(d.action()).isIn(Action.SLOW_START, Action.HOLD);
    }

    @Test
    void smallReadsUnderForeground_areCountedAsTheBackupsOwnRequests() {
        AimdController c = new AimdController(opts);
        c.rate = 1024 * MIB;
        step(c, Samples.quiet(P, 256 * MIB, 4 * MIB), 256 * MIB, true); // learns 4 MiB requests
        // the foreground left; the backup still reads 5 MiB a period in 64 KiB requests (80 ios)
        long bytes = 5 * MIB;
        LoadSample s = Samples.quiet(P, bytes, IoGovernor.FOREGROUND_READ_BYTES);
        now += s.intervalNanos();
        Decision d = c.decide(s, bytes, true, true, now, NO_CAP);
        assertThat(d.signals().foregroundIops()).isZero();
        assertThat(d.signals().foregroundActive()).isFalse();
        assertThat(d.action()).isEqualTo(Action.SLOW_START);
        // counted with the learnt 4 MiB size, the same period would show 312 phantom IOPS
        now += s.intervalNanos();
        d = c.decide(s, bytes, true, false, now, NO_CAP);
        assertThat(d.signals().foregroundIops()).isGreaterThan(300);
    }

    @Test
    void foregroundAppearing_yieldsToTheFloorAtOnce() {
        AimdController c = new AimdController(opts);
        c.rate = 1024 * MIB;
        step(c, Samples.quiet(P, 256 * MIB, 4 * MIB), 256 * MIB, true);
        Decision d = step(c, Samples.foreground(P, 40_000, 0.05, 256 * MIB, 4 * MIB), 256 * MIB, true);
        assertThat(d.action()).isEqualTo(Action.YIELD);
        assertThat(d.rateBytesPerSecond()).isEqualTo(opts.minRate());
        assertThat(d.signals().foregroundActive()).isTrue();
        // 64 backup requests are estimated from the learnt request size (decayed by 0.1%): 65
        assertThat(d.signals().foregroundIops()).isCloseTo(40_000.0, org.assertj.core.data.Offset.offset(8.0));
        assertThat(d.reason()).contains("foreground appeared");
    }

    /** Brings a controller to the floor with a learnt baseline of {@code awaitMs}. */
    private AimdController withBaseline(double awaitMs) {
        AimdController c = new AimdController(opts);
        Decision d = step(c, Samples.foreground(P, 40_000, awaitMs, 0, MIB), 0, false);
        assertThat(d.action()).isEqualTo(Action.YIELD);
        for (int i = 0; i < opts.rebasePeriods(); i++) {
            d = step(c, Samples.foreground(P, 40_000, awaitMs, 0, MIB), 0, false);
            assertThat(d.action()).isEqualTo(Action.REBASE);
        }
        assertThat(d.signals().baselineReadAwaitMs()).isEqualTo(awaitMs, org.assertj.core.data.Offset.offset(0.002));
        return c;
    }

    @Test
    void quietForeground_increasesAdditively() {
        AimdController c = withBaseline(0.05);
        long r = c.rate;
        long used = r / 4;
        for (int i = 1; i <= 5; i++) { // 400 000 IOPS: a tail budget of 50 MiB/s, not reached
            Decision d = step(c, Samples.foreground(P, 400_000, 0.05, used, MIB), used, true);
            assertThat(d.action()).isEqualTo(Action.INCREASE);
            assertThat(d.rateBytesPerSecond()).isEqualTo(r + i * opts.additiveStep());
        }
    }

    @Test
    void inflatedForegroundAwait_halvesWhatTheReadersUsed() {
        AimdController c = withBaseline(0.05);
        c.rate = 64 * MIB;
        long used = 16 * MIB / 4; // readers used 16 MiB/s of their 64 MiB/s in this 250 ms period
        Decision d = step(c, Samples.foreground(P, 40_000, 0.08, used, MIB), used, true);
        assertThat(d.action()).isEqualTo(Action.DECREASE);
        assertThat(d.signals().readInflation()).isGreaterThan(1.5);
        assertThat(d.rateBytesPerSecond()).isEqualTo(8 * MIB);
        assertThat(d.reason()).contains("read await").contains("baseline");
        // and never below the floor (the readers still use 16 MiB/s, so the baseline is not relearnt)
        for (int i = 0; i < 10; i++) {
            d = step(c, Samples.foreground(P, 40_000, 0.08, used, MIB), used, true);
            assertThat(d.action()).isEqualTo(Action.DECREASE);
        }
        assertThat(d.rateBytesPerSecond()).isEqualTo(opts.minRate());
    }

    @Test
    void inflationBelowTheLimit_isNotCongestion() {
        AimdController c = withBaseline(0.05);
        Decision d = step(c, Samples.foreground(P, 40_000, 0.06, MIB / 4, MIB), MIB / 4, true);
        assertThat(d.signals().readInflation()).isLessThan(opts.readInflationLimit());
        assertThat(d.action()).isEqualTo(Action.INCREASE);
    }

    @Test
    void cpuPressure_countsOnlyAboveItsForegroundBaseline() {
        AimdController c = new AimdController(opts);
        // baseline learnt at 85% cpu stall (a busy shared host)
        for (int i = 0; i <= opts.rebasePeriods(); i++) {
            step(c, Samples.disk(P, 10_000, 40 * MIB, 0.05, 0, 0.85), 0, false);
        }
        Decision d = step(c, Samples.disk(P, 10_000, 40 * MIB, 0.05, 0, 0.95), MIB / 4, true);
        assertThat(d.action()).isEqualTo(Action.INCREASE);
        AimdController c2 = new AimdController(opts);
        for (int i = 0; i <= opts.rebasePeriods(); i++) {
            step(c2, Samples.disk(P, 10_000, 40 * MIB, 0.05, 0, 0.10), 0, false);
        }
        d = step(c2, Samples.disk(P, 10_000, 40 * MIB, 0.05, 0, 0.60), MIB / 4, true);
        assertThat(d.action()).isEqualTo(Action.DECREASE);
        assertThat(d.reason()).contains("cpu pressure");
    }

    @Test
    void ceiling_boundsEveryIncreaseAndAPolicyCapBelowTheFloorWins() {
        AimdController c = new AimdController(opts);
        Decision d = null;
        for (int i = 0; i < 20; i++) {
            now += P * 1_000_000L;
            d = c.decide(Samples.quiet(P, MIB, MIB), c.rate / 4, true, now, 100 * MIB);
        }
        assertThat(d.rateBytesPerSecond()).isEqualTo(100 * MIB);
        assertThat(d.action()).isEqualTo(Action.HOLD);
        now += P * 1_000_000L;
        d = c.decide(Samples.quiet(P, MIB, MIB), MIB, true, now, 512 << 10);
        assertThat(d.rateBytesPerSecond()).isEqualTo(512 << 10);
    }

    @Test
    void continuousForeground_dipsToTheFloorToRemeasureItsBaseline() {
        AimdController c = withBaseline(0.05);
        Decision d = null;
        long used = 4 * MIB; // 16 MiB/s: well above the floor, so no baseline update
        boolean dipped = false;
        for (int i = 0; i < 4 * 31 && !dipped; i++) {
            d = step(c, Samples.foreground(P, 40_000, 0.05, used, MIB), used, true);
            dipped = d.action() == Action.REBASE;
        }
        assertThat(dipped).isTrue();
        long before = d.previousRateBytesPerSecond();
        assertThat(d.rateBytesPerSecond()).isEqualTo(opts.minRate());
        for (int i = 1; i <= opts.rebasePeriods(); i++) {
            d = step(c, Samples.foreground(P, 40_000, 0.04, 0, MIB), 0, false);
            assertThat(d.action()).isEqualTo(Action.REBASE);
            assertThat(d.rateBytesPerSecond()).isEqualTo(i < opts.rebasePeriods() ? opts.minRate() : before);
        }
        assertThat(d.signals().baselineReadAwaitMs()).isLessThan(0.05);
    }

    @Test
    void baselineExpires_afterLongQuiet_soTheNextForegroundYieldsAgain() {
        AimdController c = withBaseline(0.05);
        Decision d = null;
        for (int i = 0; i < 4 * 61; i++) {
            d = step(c, Samples.quiet(P, MIB, MIB), MIB, true);
        }
        assertThat(d.signals().baselineReadAwaitMs()).isZero();
        d = step(c, Samples.foreground(P, 40_000, 0.05, MIB, MIB), MIB, true);
        assertThat(d.action()).isEqualTo(Action.YIELD);
    }

    @Test
    void returningForeground_yieldsAgain_andTheDipEndsWhenItLeaves() {
        AimdController c = withBaseline(0.9); // learnt from some slow, earlier workload
        for (int i = 0; i < 8; i++) {
            step(c, Samples.quiet(P, c.rate / 4, MIB), c.rate / 4, true);
        }
        assertThat(c.rate).isGreaterThan(64 * MIB);
        // a new, fast workload: its 0.08 ms is far below the old baseline, yet the backup yields
        Decision d = step(c, Samples.foreground(P, 40_000, 0.08, 64 * MIB, MIB), 64 * MIB, true);
        assertThat(d.action()).isEqualTo(Action.YIELD);
        assertThat(d.rateBytesPerSecond()).isEqualTo(opts.minRate());
        // it leaves during the learning dip: the dip ends and slow start resumes
        d = step(c, Samples.quiet(P, MIB / 4, MIB), MIB / 4, true);
        assertThat(d.action()).isEqualTo(Action.SLOW_START);
    }

    @Test
    void baselineOfWritesOnly_doesNotExcuseNewReaders() {
        AimdController c = new AimdController(opts);
        // somebody writes while the backup is idle: a write baseline is learnt
        step(c, Samples.disk(P, 0, 0, 0, 1_000, 0), 0, false);
        Decision d = step(c, Samples.disk(P, 0, 0, 0, 1_000, 0), 0, false);
        assertThat(d.signals().baselineWriteAwaitMs()).isPositive();
        for (int i = 0; i < 8; i++) {
            step(c, Samples.quiet(P, c.rate / 4, MIB), c.rate / 4, true);
        }
        // then a reader appears while the backup reads at full speed: no read baseline, so yield
        d = step(c, Samples.foreground(P, 40_000, 0.05, 256 * MIB, MIB), 256 * MIB, false);
        assertThat(d.action()).isEqualTo(Action.YIELD);
        assertThat(d.rateBytesPerSecond()).isEqualTo(opts.minRate());
    }

    @Test
    void yield_holdsTheFloorWhileTheBaselineIsLearnt_andAnOutlierDoesNotInflateIt() {
        AimdController c = new AimdController(opts);
        c.rate = 1024 * MIB;
        step(c, Samples.quiet(P, 256 * MIB, 4 * MIB), 256 * MIB, true);
        Decision d = step(c, Samples.foreground(P, 40_000, 0.05, 256 * MIB, 4 * MIB), 256 * MIB, true);
        assertThat(d.action()).isEqualTo(Action.YIELD);
        // the learning periods: the first inflated by something else (0.30 ms)
        for (int i = 0; i < opts.rebasePeriods(); i++) {
            d = step(c, Samples.foreground(P, 40_000, i == 0 ? 0.30 : 0.05, 0, MIB), 0, true);
            assertThat(d.action()).isEqualTo(Action.REBASE);
            assertThat(d.rateBytesPerSecond()).isEqualTo(opts.minRate());
        }
        assertThat(d.signals().baselineReadAwaitMs()).isCloseTo(0.05, org.assertj.core.data.Offset.offset(0.001));
        // now a period at 0.08 ms (1.6x) is congestion, as it would not be against an average
        d = step(c, Samples.foreground(P, 40_000, 0.08, MIB, MIB), MIB, true);
        assertThat(d.action()).isEqualTo(Action.DECREASE);
    }

    @Test
    void minWindow_forgetsOldValues() {
        AimdController.MinWindow w = new AimdController.MinWindow(3);
        assertThat(w.add(5)).isEqualTo(5);
        assertThat(w.add(1)).isEqualTo(1);
        assertThat(w.add(4)).isEqualTo(1);
        assertThat(w.add(6)).isEqualTo(1);
        assertThat(w.add(7)).isEqualTo(4);
        w.clear();
        assertThat(w.add(9)).isEqualTo(9);
    }

    @Test
    void psiOnly_decreasesOnIoStallAndIncreasesBelowIt() {
        AimdController c = new AimdController(opts);
        Decision d = step(c, Samples.psiOnly(P, 0.6), MIB, true);
        assertThat(d.action()).isEqualTo(Action.DECREASE);
        assertThat(d.signals().psiOnly()).isTrue();
        assertThat(d.reason()).contains("no block device");
        long r = d.rateBytesPerSecond();
        d = step(c, Samples.psiOnly(P, 0.05), r / 4, true);
        assertThat(d.action()).isEqualTo(Action.INCREASE);
        assertThat(d.rateBytesPerSecond()).isEqualTo(r + opts.additiveStep());
    }

    @Test
    void foregroundLeaving_restoresTheRateItFound_afterTwoQuietPeriods() {
        AimdController c = new AimdController(opts);
        c.rate = 1024 * MIB;
        step(c, Samples.quiet(P, 256 * MIB, 4 * MIB), 256 * MIB, false); // holds 1 GiB/s
        Decision d = step(c, Samples.foreground(P, 40_000, 0.05, 256 * MIB, 4 * MIB), 256 * MIB, true);
        assertThat(d.action()).isEqualTo(Action.YIELD);
        for (int i = 0; i < 20; i++) { // the foreground stays a while; the backup probes under it
            step(c, Samples.foreground(P, 40_000, 0.05, c.rate / 4, MIB), c.rate / 4, true);
        }
        assertThat(c.rate).isLessThan(128 * MIB);
        // it leaves: one quiet period may be a gap (slow start), the second restores 1 GiB/s
        d = step(c, Samples.quiet(P, MIB, IoGovernor.FOREGROUND_READ_BYTES), MIB, true);
        assertThat(d.action()).isEqualTo(Action.SLOW_START);
        assertThat(d.rateBytesPerSecond()).isLessThan(256 * MIB);
        d = step(c, Samples.quiet(P, MIB, IoGovernor.FOREGROUND_READ_BYTES), MIB, true);
        assertThat(d.action()).isEqualTo(Action.SLOW_START);
        assertThat(d.rateBytesPerSecond()).isEqualTo(1024 * MIB);
        assertThat(d.reason()).contains("foreground gone for 2 periods");
        // only once: the next quiet periods are ordinary slow start / hold
        d = step(c, Samples.quiet(P, 256 * MIB, 4 * MIB), 256 * MIB, false);
        assertThat(d.action()).isEqualTo(Action.HOLD);
        assertThat(d.rateBytesPerSecond()).isEqualTo(1024 * MIB);
    }

    @Test
    void moderateForegroundBurst_mustBeSeenTwiceBeforeTheBackupYields() {
        AimdController c = new AimdController(opts);
        c.rate = 512 * MIB;
        step(c, Samples.quiet(P, 128 * MIB, 4 * MIB), 128 * MIB, true);
        long r = c.rate;
        // 600 IOPS for one period (3x the threshold, under 5x): held, not yielded
        Decision d = step(c, Samples.foreground(P, 600, 2.0, 128 * MIB, 4 * MIB), 128 * MIB, true);
        assertThat(d.action()).isEqualTo(Action.HOLD);
        assertThat(d.rateBytesPerSecond()).isEqualTo(r);
        assertThat(d.reason()).contains("holding");
        d = step(c, Samples.quiet(P, 128 * MIB, 4 * MIB), 128 * MIB, true);
        assertThat(d.action()).isEqualTo(Action.SLOW_START);
        // seen twice in a row: a foreground, yield
        step(c, Samples.foreground(P, 600, 2.0, 128 * MIB, 4 * MIB), 128 * MIB, true);
        d = step(c, Samples.foreground(P, 600, 2.0, 128 * MIB, 4 * MIB), 128 * MIB, true);
        assertThat(d.action()).isEqualTo(Action.YIELD);
        assertThat(d.rateBytesPerSecond()).isEqualTo(opts.minRate());
    }

    @Test
    void fullSpeedBackupInSmallerRequestsThanLearnt_isNotAForeground() {
        AimdController c = new AimdController(opts);
        c.rate = 2048 * MIB;
        step(c, Samples.quiet(P, 256 * MIB, 4 * MIB), 256 * MIB, true); // learns 4 MiB
        // the same bytes in 2 MiB requests (a read-ahead ramp after a wrap): 64 phantom ios, 256
        // IOPS over the threshold, but inside the count's uncertainty
        Decision d = step(c, Samples.quiet(P, 256 * MIB, 2 * MIB), 256 * MIB, true);
        assertThat(d.signals().foregroundIops()).isGreaterThan(opts.foregroundIopsThreshold());
        assertThat(d.signals().foregroundActive()).isFalse();
        assertThat(d.action()).isIn(Action.SLOW_START, Action.HOLD);
        // a real foreground of 4 KiB reads beside it still stands out at once
        d = step(c, Samples.foreground(P, 8_000, 0.5, 256 * MIB, 4 * MIB), 256 * MIB, true);
        assertThat(d.action()).isEqualTo(Action.YIELD);
    }

    @Test
    void ownReadBytes_countTheBackupsReadAheadThatRanBeforeItsGrants() {
        AimdController c = new AimdController(opts);
        c.rate = 1024 * MIB;
        step(c, Samples.withOwn(Samples.quiet(P, 256 * MIB, 4 * MIB), 256 * MIB), 256 * MIB, true);
        // read-ahead fetched 256 MiB while the readers were granted only 16 MiB so far
        LoadSample s = Samples.withOwn(Samples.quiet(P, 256 * MIB, 4 * MIB), 256 * MIB);
        Decision d = step(c, s, 16 * MIB, true);
        assertThat(d.signals().foregroundIops()).isZero();
        assertThat(d.signals().foregroundActive()).isFalse();
        // without the process's own count the same period would look like 240 MiB of foreground
        AimdController blind = new AimdController(opts);
        blind.rate = 1024 * MIB;
        step(blind, Samples.quiet(P, 256 * MIB, 4 * MIB), 256 * MIB, true);
        d = step(blind, Samples.quiet(P, 256 * MIB, 4 * MIB), 16 * MIB, true);
        assertThat(d.signals().foregroundIops()).isGreaterThan(200);
    }

    @Test
    void severeInflation_sendsTheRateToTheFloorAtOnce() {
        AimdController c = withBaseline(0.05);
        c.rate = 64 * MIB;
        long used = 16 * MIB;
        Decision d = step(c, Samples.foreground(P, 40_000, 0.20, used, MIB), used, true);
        assertThat(d.action()).isEqualTo(Action.DECREASE);
        assertThat(d.rateBytesPerSecond()).isEqualTo(opts.minRate());
        assertThat(d.reason()).contains("severe");
    }

    @Test
    void foregroundNotHurt_stillCapsTheBackupAtItsTailBudget() {
        AimdController c = withBaseline(0.05);
        // 40 000 IOPS: 0.1% of them is 40 reads/s of 64 KiB, 2.5 MiB/s
        long budget = 5 * MIB / 2;
        Decision d = null;
        for (int i = 0; i < 4; i++) {
            d = step(c, Samples.foreground(P, 40_000, 0.05, c.rate / 4, MIB), c.rate / 4, true);
            assertThat(d.rateBytesPerSecond()).isLessThanOrEqualTo(budget);
        }
        assertThat(d.action()).isEqualTo(Action.HOLD);
        // the backup's own requests are counted out of the 40 000, so the budget is up to 2% lower
        assertThat(d.rateBytesPerSecond()).isCloseTo(budget, org.assertj.core.data.Offset.offset(budget / 50));
        assertThat(d.reason()).contains("tail budget");
        // above it (the foreground slowed down): lowered to it
        c.rate = 64 * MIB;
        d = step(c, Samples.foreground(P, 40_000, 0.05, 16 * MIB, MIB), 16 * MIB, true);
        assertThat(d.action()).isEqualTo(Action.DECREASE);
        // the backup's own requests are counted out of the 40 000, so the budget is up to 2% lower
        assertThat(d.rateBytesPerSecond()).isCloseTo(budget, org.assertj.core.data.Offset.offset(budget / 50));
    }
}
