package dev.coffer.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.agent.api.ApiClient;
import dev.coffer.catalog.BackupInfo;
import dev.coffer.catalog.BackupState;
import dev.coffer.catalog.Catalog;
import dev.coffer.testkit.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon as a real child JVM ({@code coffer agent --config}), killed (kill -9) or stopped (SIGTERM)
 * in the middle of a backup and started again: after recovery there is exactly one complete backup per
 * trigger and none is left running.
 */
class DaemonProcessTest {
    @TempDir
    Path dir;
    private final List<Process> children = new ArrayList<>();

    @AfterEach
    void reap() throws InterruptedException {
        for (Process p : children) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Process startAgent(DaemonFixture fx, String logName) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                "dev.coffer.agent.Main", "agent", "--config", fx.config.toString(), "--snapshot-poll-millis", "200")
                .redirectErrorStream(true).redirectOutput(dir.resolve(logName).toFile()).start();
        children.add(p);
        boolean up = DaemonFixture.await(Duration.ofSeconds(20),
                () -> !p.isAlive() || ApiClient.ifRunning(fx.socket).isPresent());
        assertThat(p.isAlive()).as("agent exited: " + Files.readString(dir.resolve(logName))).isTrue();
        assertThat(up).isTrue();
        return p;
    }

    private static List<JsonNode> jobs(ApiClient c) {
        try {
            List<JsonNode> l = new ArrayList<>();
            c.get("/v1/jobs").json().get("jobs").forEach(l::add);
            return l;
        } catch (Exception e) {
            return List.of();
        }
    }

    private DaemonFixture setUp() throws Exception {
        DaemonFixture fx = new DaemonFixture(dir);
        // the bandwidth cap keeps the fixture backup's ~54 MB of reads going for ~3 s, so the signals below land
        // mid-read whatever the machine's speed (uncapped, the backup took under a second)
        fx.writeConfig("", "policies:\n  - name: snap\n    on_new_snapshot: true\n    retention: {last: 10}\n"
                + "    bandwidth: 16MiB/s\n");
        return fx;
    }

    /** Triggers snapshot s1 and returns once its backup is running with bytes read (capped at 16 MiB/s: it takes seconds). */
    private static void triggerAndAwaitRunning(DaemonFixture fx, ApiClient c) throws Exception {
        fx.snapshot("s1");
        assertThat(DaemonFixture.await(Duration.ofSeconds(20), () -> jobs(c).stream().anyMatch(j ->
                j.get("state").asText().equals("running") && j.get("progress").get("bytesRead").asLong() > 0)))
                .as("a running backup").isTrue();
    }

    private void assertRecovered(DaemonFixture fx, String log, String failedBecause) throws Exception {
        Process again = startAgent(fx, log);
        ApiClient c = new ApiClient(fx.socket, 10_000);
        assertThat(DaemonFixture.await(Duration.ofSeconds(40), () -> jobs(c).stream()
                .anyMatch(j -> j.get("state").asText().equals("complete")))).as("the re-run completes").isTrue();
        Thread.sleep(1000); // past several snapshot polls: the snapshot seen before the kill is not backed up twice
        List<JsonNode> js = jobs(c);
        assertThat(js).hasSize(1);
        assertThat(js.get(0).get("snapshot").asText()).isEqualTo("s1");
        assertThat(js.get(0).get("trigger").asText()).isEqualTo("snapshot s1");
        again.destroy(); // SIGTERM: a graceful stop with nothing running
        assertThat(again.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.exists(fx.socket)).as("a graceful stop removes its socket").isFalse();
        try (Catalog cat = Catalog.open(fx.catalog())) {
            List<BackupInfo> all = cat.backups();
            assertThat(all).extracting(BackupInfo::state).doesNotContain(BackupState.RUNNING);
            assertThat(all.stream().filter(b -> b.state() == BackupState.COMPLETE)).singleElement()
                    .satisfies(b -> assertThat(b.consistencySource()).isEqualTo("storage-snapshot"));
            assertThat(all.stream().filter(b -> b.state() == BackupState.FAILED)).singleElement()
                    .satisfies(b -> assertThat(b.error()).isNotBlank().contains(failedBecause));
        }
        String text = Files.readString(dir.resolve(log));
        assertThat(text).contains("job requeued", "reason=recovery", "state=complete");
    }

    /** SIGHUP with a bad config keeps the running one (and says why in the log); with a good one applies it. */
    private void reloadBySighup(DaemonFixture fx, Process p, ApiClient c) throws Exception {
        String good = Files.readString(fx.config);
        Files.writeString(fx.config, good + "  - name: broken\n    schedule: [\"61 * * * *\"]\n    source: live\n");
        Fixtures.run("kill", "-HUP", Long.toString(p.pid()));
        assertThat(DaemonFixture.await(Duration.ofSeconds(10), () -> {
            try {
                return Files.readString(dir.resolve("first.log")).contains("reload rejected");
            } catch (java.io.IOException e) {
                return false;
            }
        })).isTrue();
        long scheduleLine = good.lines().count() + 2; // "  - name: broken", then its schedule
        assertThat(Files.readString(dir.resolve("first.log")))
                .contains(fx.config + ":" + scheduleLine + ": policies[1].schedule: invalid cron");
        assertThat(c.get("/v1/health").json().get("policies")).hasSize(1);
        Files.writeString(fx.config, good + "  - name: extra\n    schedule: [\"0 4 * * *\"]\n    source: live\n");
        Fixtures.run("kill", "-HUP", Long.toString(p.pid()));
        assertThat(DaemonFixture.await(Duration.ofSeconds(10), () -> {
            try {
                return c.get("/v1/health").json().get("policies").size() == 2;
            } catch (Exception e) {
                return false;
            }
        })).as("SIGHUP applied the good config").isTrue();
        assertThat(p.isAlive()).isTrue();
    }

    @Test
    void killedMidBackup_theNextStartRunsItAgain_exactlyOnce() throws Exception {
        DaemonFixture fx = setUp();
        Process p = startAgent(fx, "first.log");
        ApiClient c = new ApiClient(fx.socket, 10_000);
        reloadBySighup(fx, p, c);
        triggerAndAwaitRunning(fx, c);
        p.destroyForcibly();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.exists(fx.socket)).as("kill -9 leaves a stale socket for the next start to replace").isTrue();
        try (Catalog cat = Catalog.open(fx.catalog())) {
            assertThat(cat.backups()).extracting(BackupInfo::state).containsExactly(BackupState.RUNNING);
        }
        assertRecovered(fx, "second.log", "interrupted: the agent stopped");
        assertThat(Files.readString(dir.resolve("second.log"))).contains("stale query socket replaced",
                "recovered interrupted backups count=1");
    }

    @Test
    void sigtermMidBackup_cancelsIt_andTheNextStartRunsItAgain_exactlyOnce() throws Exception {
        DaemonFixture fx = setUp();
        Process p = startAgent(fx, "first.log");
        ApiClient c = new ApiClient(fx.socket, 10_000);
        triggerAndAwaitRunning(fx, c);
        p.destroy();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String first = Files.readString(dir.resolve("first.log"));
        assertThat(first).contains("agent stopping", "state=cancelled reason=shutdown", "agent stopped");
        try (Catalog cat = Catalog.open(fx.catalog())) {
            assertThat(cat.backups()).extracting(BackupInfo::state).containsExactly(BackupState.FAILED);
        }
        // the engine records why it stopped in its own words (e.g. "backup cancelled"); the log above says it was the shutdown
        assertRecovered(fx, "second.log", "");
    }
}
