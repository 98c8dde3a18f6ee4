package dev.coffer.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.agent.backup.BackupJob;
import dev.coffer.agent.backup.BackupOptions;
import dev.coffer.agent.config.ConfigException;
import dev.coffer.catalog.BackupInfo;
import dev.coffer.catalog.BackupState;
import dev.coffer.catalog.Catalog;
import dev.coffer.dedup.LocalDestination;
import dev.coffer.dedup.ManifestInfo;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentDaemonTest {
    private static final DaemonOptions FAST = DaemonOptions.defaults().withPeriods(20, 50).withRetry(100, 400);
    private static final Duration BACKUP = Duration.ofSeconds(40);

    @TempDir
    Path dir;

    private static boolean done(AgentDaemon d, int count) {
        return d.jobs().stream().filter(j -> j.state().terminal()).count() >= count;
    }

    @Test
    void cronPolicy_firesWhenTheClockPassesItsTime_andAMissedRunCatchesUpOnce() throws Exception {
        DaemonFixture fx = new DaemonFixture(dir);
        fx.writeConfig("", "policies:\n  - name: nightly\n    schedule: [\"0 2 * * *\"]\n    source: live\n"
                + "    retention: {last: 5}\n");
        MutableClock clock = new MutableClock(Instant.parse("2026-11-22T01:59:50Z"));
        try (AgentDaemon d = new AgentDaemon(fx.config, FAST, clock)) {
            d.start();
            Thread.sleep(200);
            assertThat(d.jobs()).as("nothing is due before 02:00").isEmpty();
            clock.set(Instant.parse("2026-11-22T02:00:05Z"));
            assertThat(DaemonFixture.await(BACKUP, () -> done(d, 1))).isTrue();
            Job j = d.jobs().get(0);
            assertThat(j.state()).isEqualTo(Job.State.COMPLETE);
            assertThat(j.spec().trigger()).isEqualTo("schedule \"0 2 * * *\"");
            BackupInfo b = d.catalog().backup(j.backupId()).orElseThrow();
            assertThat(b.state()).isEqualTo(BackupState.COMPLETE);
            assertThat(b.policy()).isEqualTo("nightly");
            assertThat(b.started()).isEqualTo(Instant.parse("2026-11-22T02:00:05Z"));
            assertThat(b.files()).isGreaterThan(10);
            Thread.sleep(200);
            assertThat(d.jobs()).as("one run per scheduled time").hasSize(1);
        }
        // down for two days: the 02:00 runs of the 23rd and 24th were missed; one catch-up run follows
        clock.set(Instant.parse("2026-11-24T03:00:00Z"));
        try (AgentDaemon d = new AgentDaemon(fx.config, FAST, clock)) {
            d.start();
            assertThat(DaemonFixture.await(BACKUP, () -> done(d, 1))).isTrue();
            Thread.sleep(200);
            assertThat(d.jobs()).singleElement().satisfies(j -> {
                assertThat(j.spec().trigger()).startsWith("catch-up");
                assertThat(j.state()).isEqualTo(Job.State.COMPLETE);
            });
            assertThat(d.catalog().backups()).extracting(BackupInfo::state)
                    .containsExactly(BackupState.COMPLETE, BackupState.COMPLETE);
        }
    }

    @Test
    void newSnapshot_triggersABackupFromIt_andRetentionPrunesTheOlderOne() throws Exception {
        DaemonFixture fx = new DaemonFixture(dir);
        fx.writeConfig("", "policies:\n  - name: snap\n    on_new_snapshot: true\n    retention: {last: 1}\n");
        fx.snapshot("before-start"); // present at the first start: the baseline, not backed up
        Clock clock = Clock.systemUTC();
        long first;
        try (AgentDaemon d = new AgentDaemon(fx.config, FAST, clock)) {
            d.start();
            Thread.sleep(300);
            assertThat(d.jobs()).isEmpty();
            fx.snapshot("s1");
            assertThat(DaemonFixture.await(BACKUP, () -> done(d, 1))).isTrue();
            Job j = d.jobs().get(0);
            assertThat(j.state()).isEqualTo(Job.State.COMPLETE);
            assertThat(j.spec().snapshot()).isEqualTo("s1");
            first = j.backupId();
            assertThat(d.catalog().backup(first).orElseThrow().consistencySource()).isEqualTo("storage-snapshot");

            fx.snapshot("s2");
            assertThat(DaemonFixture.await(BACKUP, () -> done(d, 2))).isTrue();
            Job j2 = d.jobs().get(1);
            assertThat(j2.state()).isEqualTo(Job.State.COMPLETE);
            assertThat(j2.view().get("result")).asString().contains("pruned=1");
            assertThat(d.catalog().backup(first).orElseThrow().state()).isEqualTo(BackupState.PRUNED);
            assertThat(d.catalog().backup(j2.backupId()).orElseThrow().state()).isEqualTo(BackupState.COMPLETE);
        }
        // the pruned backup's manifest is gone from the store, so its GC no longer keeps its blocks
        try (Catalog c = Catalog.open(fx.catalog()); LocalDestination store = LocalDestination.open(dir.resolve("store"))) {
            BackupJob namer = new BackupJob(c, store, "x", BackupOptions.defaults(), Clock.systemUTC());
            List<String> ids = store.listManifests().get(10, TimeUnit.SECONDS).stream().map(ManifestInfo::backupId).toList();
            assertThat(ids).doesNotContain(namer.manifestId(first)).hasSize(1);
        }
    }

    @Test
    void reload_appliesAGoodConfig_andABadOneKeepsTheOldRunning() throws Exception {
        DaemonFixture fx = new DaemonFixture(dir);
        String a = "policies:\n  - name: a\n    schedule: [\"0 2 * * *\"]\n    source: live\n";
        fx.writeConfig("", a);
        try (AgentDaemon d = new AgentDaemon(fx.config, FAST, Clock.systemUTC())) {
            d.start();
            fx.writeConfig("", a + "  - name: b\n    schedule: [\"0 3 * * *\"]\n    source: live\n");
            assertThat(d.reload().policies()).extracting(p -> p.name()).containsExactly("a", "b");
            fx.writeConfig("", a + "  - name: c\n    schedule: [\"0 25 * * *\"]\n    source: live\n");
            assertThatThrownBy(d::reload).isInstanceOf(ConfigException.class)
                    .hasMessageStartingWith(fx.config + ":16: policies[1].schedule: invalid cron expression");
            assertThat(d.config().policies()).extracting(p -> p.name()).containsExactly("a", "b");
            assertThat(d.totals.reloadsRejected.get()).isEqualTo(1);
        }
    }

    @Test
    void secondDaemon_onTheSameCatalog_failsNamingTheLock() throws Exception {
        DaemonFixture fx = new DaemonFixture(dir);
        fx.writeConfig("", "policies:\n  - name: a\n    schedule: [\"0 2 * * *\"]\n    source: live\n");
        try (AgentDaemon d = new AgentDaemon(fx.config, FAST, Clock.systemUTC())) {
            d.start();
            AgentDaemon second = new AgentDaemon(fx.config, FAST, Clock.systemUTC());
            assertThatThrownBy(second::start).isInstanceOf(IOException.class)
                    .hasMessageContaining("catalog.db.lock: another coffer agent");
            assertThat(Files.exists(fx.socket)).as("the first daemon's socket survives").isTrue();
        }
        try (AgentDaemon again = new AgentDaemon(fx.config, FAST, Clock.systemUTC())) {
            again.start(); // the lock went with the first daemon
        }
    }

    @Test
    void destinationDown_jobWaitsAndRetriesWithBackoff() throws Exception {
        DaemonFixture fx = new DaemonFixture(dir);
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // closed again: nobody listens there
        }
        Files.writeString(fx.config, Files.readString(fx.writeConfig("",
                "policies:\n  - name: a\n    schedule: [\"0 2 * * *\"]\n    source: live\n"))
                .replace("  store: store\n", "  address: 127.0.0.1:" + port + "\n  token_file: query.token\n  plaintext: true\n"));
        try (AgentDaemon d = new AgentDaemon(fx.config, FAST, Clock.systemUTC())) {
            d.start();
            Job j = d.requestBackup(null, "winvm", "a").get(0);
            assertThat(DaemonFixture.await(Duration.ofSeconds(10), () -> j.attempts() >= 3)).isTrue();
            assertThat(j.state()).isIn(Job.State.WAITING_FOR_DESTINATION, Job.State.RUNNING);
            DaemonFixture.await(Duration.ofSeconds(2), () -> j.state() == Job.State.WAITING_FOR_DESTINATION);
            assertThat(j.view()).containsEntry("state", "waiting-for-destination");
            assertThat(j.view().get("nextAttemptAt")).isNotNull();
            assertThat(j.error()).contains("127.0.0.1:" + port);
            assertThat(d.destinationStatus()).containsEntry("connected", false);
            assertThat(d.catalog().backups()).as("nothing started against a dead destination").isEmpty();
        }
        assertThat(FAST.retryDelayMillis(1)).isEqualTo(100);
        assertThat(FAST.retryDelayMillis(2)).isEqualTo(200);
        assertThat(FAST.retryDelayMillis(9)).isEqualTo(400);
    }

    @Test
    void window_aJobOutsideItsWindowWaits_andStartsWhenItOpens() throws Exception {
        DaemonFixture fx = new DaemonFixture(dir);
        fx.writeConfig("", "policies:\n  - name: w\n    schedule: [\"0 2 * * *\"]\n    source: live\n"
                + "    window: \"22:00-06:00\"\n");
        MutableClock clock = new MutableClock(Instant.parse("2026-11-22T12:00:00Z"));
        try (AgentDaemon d = new AgentDaemon(fx.config, FAST, clock)) {
            d.start();
            Job j = d.requestBackup(null, "winvm", "w").get(0);
            assertThat(DaemonFixture.await(Duration.ofSeconds(5), () -> j.state() == Job.State.WAITING_FOR_WINDOW)).isTrue();
            Thread.sleep(200);
            assertThat(j.state()).isEqualTo(Job.State.WAITING_FOR_WINDOW);
            assertThat(d.catalog().backups()).isEmpty();
            clock.set(Instant.parse("2026-11-22T22:00:01Z"));
            assertThat(DaemonFixture.await(BACKUP, () -> j.state() == Job.State.COMPLETE)).isTrue();
        }
    }

    @Test
    void twoPolicies_neverBackUpOneVmAtOnce_evenWithFreeSlots() throws Exception {
        DaemonFixture fx = new DaemonFixture(dir);
        fx.writeConfig("", "limits:\n  concurrent_jobs: 2\npolicies:\n"
                + "  - name: a\n    schedule: [\"0 2 * * *\"]\n    source: live\n"
                + "  - name: b\n    schedule: [\"0 3 * * *\"]\n    source: live\n    priority: 90\n");
        try (AgentDaemon d = new AgentDaemon(fx.config, FAST, Clock.systemUTC())) {
            d.start();
            Job a = d.requestBackup(null, "winvm", "a").get(0);
            Job b = d.requestBackup(null, "winvm", "b").get(0);
            assertThat(DaemonFixture.await(BACKUP, () -> done(d, 2))).isTrue();
            assertThat(a.state()).isEqualTo(Job.State.COMPLETE);
            assertThat(b.state()).isEqualTo(Job.State.COMPLETE);
            Instant aStart = Instant.parse((String) a.view().get("startedAt"));
            Instant aEnd = Instant.parse((String) a.view().get("endedAt"));
            Instant bStart = Instant.parse((String) b.view().get("startedAt"));
            Instant bEnd = Instant.parse((String) b.view().get("endedAt"));
            assertThat(!bStart.isBefore(aEnd) || !aStart.isBefore(bEnd)).as("a %s..%s, b %s..%s", aStart, aEnd, bStart, bEnd)
                    .isTrue();
            assertThat(d.catalog().backups()).extracting(BackupInfo::policy).containsExactlyInAnyOrder("a", "b");
        }
    }
}
