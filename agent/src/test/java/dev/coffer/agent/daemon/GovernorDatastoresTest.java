package dev.coffer.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.load.BlockDevice;
import dev.coffer.agent.load.DatastoresProbe;
import dev.coffer.agent.load.DeviceResolver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's load governor watches the devices under every configured datastore, not the first
 * one's: on this machine a datastore on the test directory's disk and one on a tmpfs ({@code /dev/shm},
 * no block device) in either order watch the disk; a reload re-resolves them (the tmpfs alone leaves
 * PSI only, health says so).
 */
class GovernorDatastoresTest {
    @TempDir
    Path dir;

    @Test
    void governor_watchesEveryDatastoresDevices_andFollowsAReload() throws Exception {
        DaemonFixture fx = new DaemonFixture(dir);
        Path shm = Files.createTempDirectory(Path.of("/dev/shm"), "coffer-ds");
        try {
            List<String> disk = DeviceResolver.system().resolve(dir).devices().stream().map(BlockDevice::name).toList();
            assertThat(disk).as("the test directory is on a block device").isNotEmpty();
            assertThat(DeviceResolver.system().resolve(shm).devices()).as("/dev/shm is a tmpfs").isEmpty();
            // the tmpfs first: a governor following only the first datastore would watch nothing
            write(fx, "  - name: shm\n    path: " + shm + "\n  - name: ds1\n    path: ds\n");
            try (AgentDaemon d = new AgentDaemon(fx.config, DaemonOptions.defaults().withPeriods(50, 100), Clock.systemUTC())) {
                d.start();
                DatastoresProbe.Watch w = d.governorWatch();
                assertThat(w.devices()).extracting(BlockDevice::name).containsExactlyElementsOf(disk);
                assertThat(w.sets()).hasSize(2);
                assertThat(load(d).get("devices")).isEqualTo(disk);

                write(fx, "  - name: shm\n    path: " + shm + "\n");
                d.reload();
                assertThat(d.governorWatch().psiOnly()).isTrue();
                assertThat(load(d).get("psiOnly")).isEqualTo(true);

                write(fx, "  - name: ds1\n    path: ds\n  - name: shm\n    path: " + shm + "\n  - name: gone\n    path: "
                        + dir.resolve("not-there") + "\n");
                d.reload();
                assertThat(d.governorWatch().devices()).extracting(BlockDevice::name).containsExactlyElementsOf(disk);
                assertThat(d.governorWatch().failures()).singleElement().asString().contains("not-there");
                // the governor samples the watched disk: its decisions carry device signals, not PSI alone
                assertThat(DaemonFixture.await(java.time.Duration.ofSeconds(5),
                        () -> d.governor().decision() != null && d.governor().decision().signals() != null
                                && !d.governor().decision().signals().psiOnly())).isTrue();
            }
        } finally {
            Files.deleteIfExists(shm);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> load(AgentDaemon d) {
        return (Map<String, Object>) d.health().get("load");
    }

    private static void write(DaemonFixture fx, String datastores) throws Exception {
        Files.writeString(fx.config, "catalog: catalog.db\ndestination:\n  store: store\ndatastores:\n" + datastores
                + "query:\n  socket: run/query.sock\ntimezone: UTC\n");
    }
}
