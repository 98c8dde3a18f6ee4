package dev.coffer.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.agent.config.AgentConfig.Source;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    private static final String GOOD = """
            catalog: catalog.db
            destination:
              store: /backup/store
            datastores:
              - name: ds1
                path: /tank/ds1
                snapshots: "{datastore}/.zfs/snapshot/{snapshot}"
            query:
              socket: /run/coffer/query.sock
              listen: 127.0.0.1:7421
              token_file: query.token
            limits:
              max_read_rate: 200MiB/s
              concurrent_jobs: 2
            timezone: Europe/Berlin
            policies:
              - name: gold
                datastores: [ds1]
                folders: "sql-*"
                tags: {tier: gold}
                schedule: ["0 2 * * *", "30 14 * * 1-5"]
                on_new_snapshot: true
                retention: {last: 7, daily: 14, weekly: 8}
                priority: 80
                window: "22:00-06:00"
                bandwidth: 100MiB/s
            """;

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void load_readsEveryKey() throws IOException {
        AgentConfig c = ConfigLoader.load(write("coffer.yaml", GOOD));
        assertThat(c.catalog()).isEqualTo(dir.resolve("catalog.db"));
        assertThat(c.destination().store()).contains(Path.of("/backup/store"));
        assertThat(c.datastores()).singleElement().satisfies(d -> {
            assertThat(d.name()).isEqualTo("ds1");
            assertThat(d.snapshotTemplate()).contains("{datastore}/.zfs/snapshot/{snapshot}");
        });
        assertThat(c.query().tokenFile()).contains(dir.resolve("query.token"));
        assertThat(c.limits().maxReadBytesPerSecond()).isEqualTo(200L << 20);
        assertThat(c.limits().concurrentJobs()).isEqualTo(2);
        var p = c.policies().get(0);
        assertThat(p.schedules()).hasSize(2);
        assertThat(p.source()).isEqualTo(Source.STORAGE_SNAPSHOT);
        assertThat(p.retention().daily()).isEqualTo(14);
        assertThat(p.tags()).containsEntry("tier", "gold");
        assertThat(p.window()).hasValueSatisfying(w -> {
            assertThat(w.contains(LocalTime.of(23, 0))).isTrue();
            assertThat(w.contains(LocalTime.of(3, 0))).isTrue();
            assertThat(w.contains(LocalTime.of(12, 0))).isFalse();
        });
        assertThat(p.bandwidthBytesPerSecond()).isEqualTo(100L << 20);
    }

    @Test
    void errors_nameFileLineAndKey() throws IOException {
        Path f = write("bad.yaml", GOOD.replace("\"0 2 * * *\"", "\"0 25 * * *\""));
        assertThatThrownBy(() -> ConfigLoader.load(f)).isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(f + ":21: policies[0].schedule: invalid cron expression");

        Path typo = write("typo.yaml", GOOD.replace("  concurrent_jobs: 2", "  concurent_jobs: 2"));
        assertThatThrownBy(() -> ConfigLoader.load(typo))
                .hasMessage(typo + ":14: limits.concurent_jobs: unknown key (a typo?)");

        Path rate = write("rate.yaml", GOOD.replace("200MiB/s", "fast"));
        assertThatThrownBy(() -> ConfigLoader.load(rate))
                .hasMessageContaining(rate + ":13: limits.max_read_rate: expected a rate");

        Path missing = write("missing.yaml", GOOD.replace("catalog: catalog.db\n", ""));
        assertThatThrownBy(() -> ConfigLoader.load(missing)).hasMessageContaining("catalog: required");

        Path yaml = write("yaml.yaml", "catalog: [unclosed\n");
        assertThatThrownBy(() -> ConfigLoader.load(yaml)).hasMessageContaining("not valid YAML");

        Path tcp = write("tcp.yaml", GOOD.replace("  token_file: query.token\n", ""));
        assertThatThrownBy(() -> ConfigLoader.load(tcp))
                .hasMessageContaining("query: listen (TCP) requires token_file");

        Path ds = write("ds.yaml", GOOD.replace("datastores: [ds1]", "datastores: [ds9]"));
        assertThatThrownBy(() -> ConfigLoader.load(ds)).hasMessageContaining(":18: policies[0].datastores: no datastore named \"ds9\"");
    }

    @Test
    void policyDirectory_addsPoliciesAndRejectsDuplicates() throws IOException {
        Files.createDirectories(dir.resolve("policies.d"));
        write("policies.d/silver.yaml", "name: silver\nschedule: \"0 3 * * *\"\nsource: live\n");
        AgentConfig c = ConfigLoader.load(write("c.yaml", GOOD + "policy_dir: policies.d\n"));
        assertThat(c.policies()).extracting(AgentConfig.Policy::name).containsExactly("gold", "silver");
        assertThat(c.policies().get(1).source()).isEqualTo(Source.LIVE);

        write("policies.d/gold.yaml", "name: gold\nschedule: \"0 3 * * *\"\nsource: live\n");
        assertThatThrownBy(() -> ConfigLoader.load(dir.resolve("c.yaml")))
                .hasMessageContaining("gold.yaml:1: name: policy \"gold\" is also defined at");
    }
}
