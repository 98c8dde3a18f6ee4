package dev.coffer.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.config.AgentConfig;
import dev.coffer.agent.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyVmsTest {
    @TempDir
    Path dir;

    /** Copies the fixture VM into folder {@code name} with display name {@code display} and extra .vmx lines. */
    private static void vm(DaemonFixture fx, String name, String display, String extra) throws Exception {
        Path to = fx.datastore.resolve(name);
        DaemonFixture.copyTree(fx.datastore.resolve("winvm"), to);
        Path vmx = to.resolve("winvm.vmx");
        Files.writeString(vmx, Files.readString(vmx).replace("displayName = \"winvm\"", "displayName = \"" + display + "\"") + extra);
    }

    @Test
    void select_byFolderGlobNameRegexAndTags() throws Exception {
        DaemonFixture fx = new DaemonFixture(dir);
        vm(fx, "sql-01", "SQL one", "coffer.tag.tier = \"gold\"\n");
        vm(fx, "sql-02", "SQL two", "coffer.tag.tier = \"silver\"\n");
        vm(fx, "web-01", "Web one", "coffer.tag.tier = \"gold\"\n");
        fx.writeConfig("", "policies:\n"
                + "  - name: sql\n    folders: \"sql-*\"\n    schedule: [\"0 2 * * *\"]\n    source: live\n"
                + "  - name: gold\n    tags: {tier: gold}\n    schedule: [\"0 2 * * *\"]\n    source: live\n"
                + "  - name: ones\n    name_regex: \".* one\"\n    schedule: [\"0 2 * * *\"]\n    source: live\n"
                + "  - name: goldsql\n    folders: \"sql-*\"\n    tags: {tier: gold}\n    schedule: [\"0 2 * * *\"]\n    source: live\n");
        AgentConfig c = ConfigLoader.load(fx.config);
        assertThat(names(c, "sql")).containsExactly("sql-01", "sql-02");
        assertThat(names(c, "gold")).containsExactly("sql-01", "web-01");
        assertThat(names(c, "ones")).containsExactly("sql-01", "web-01");
        assertThat(names(c, "goldsql")).containsExactly("sql-01");
    }

    private static List<String> names(AgentConfig c, String policy) {
        AgentConfig.Policy p = c.policies().stream().filter(x -> x.name().equals(policy)).findFirst().orElseThrow();
        return PolicyVms.select(c, p).stream().map(s -> s.vm().folder().getFileName().toString()).toList();
    }

    @Test
    void queue_startsTheHighestPriorityFirst() throws Exception {
        DaemonFixture fx = new DaemonFixture(dir);
        vm(fx, "vm2", "vm two", "");
        vm(fx, "vm3", "vm three", "");
        fx.writeConfig("", "policies:\n"
                + "  - name: low\n    schedule: [\"0 2 * * *\"]\n    source: live\n    priority: 10\n"
                + "  - name: high\n    schedule: [\"0 2 * * *\"]\n    source: live\n    priority: 90\n");
        try (AgentDaemon d = new AgentDaemon(fx.config, DaemonOptions.defaults().withPeriods(20, 50), Clock.systemUTC())) {
            d.start();
            Job first = d.requestBackup(null, "winvm", "low").get(0);
            assertThat(DaemonFixture.await(Duration.ofSeconds(10), () -> first.state() == Job.State.RUNNING)).isTrue();
            Job low = d.requestBackup(null, "vm2", "low").get(0);
            Job high = d.requestBackup(null, "vm3", "high").get(0);
            assertThat(DaemonFixture.await(Duration.ofSeconds(60),
                    () -> d.jobs().stream().allMatch(j -> j.state().terminal()))).isTrue();
            assertThat(List.of(first, low, high)).allMatch(j -> j.state() == Job.State.COMPLETE);
            assertThat(List.of(low, high).stream().sorted(Comparator.comparing(j -> Instant.parse((String) j.view().get("startedAt"))))
                    .map(Job::id).toList()).as("the higher priority job started first, though queued last")
                    .containsExactly(high.id(), low.id());
        }
    }
}
