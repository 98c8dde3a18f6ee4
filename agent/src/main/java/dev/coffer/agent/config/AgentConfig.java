package dev.coffer.agent.config;

import java.nio.file.Path;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The agent's configuration, validated: one YAML file (see {@code docs/operations.md} for every key)
 * plus, optionally, one policy per {@code *.yaml} file in {@code policy_dir}.
 *
 * @param file the file this was loaded from
 * @param catalog the SQLite catalog file
 * @param destination where blocks go
 * @param datastores the datastores the agent watches
 * @param query the query socket(s)
 * @param limits global limits
 * @param zone the controller's time zone for schedules and windows
 * @param policies every policy, inline and from {@code policy_dir}, by unique name
 */
public record AgentConfig(
        Path file,
        Path catalog,
        Destination destination,
        List<Datastore> datastores,
        Query query,
        Limits limits,
        ZoneId zone,
        List<Policy> policies) {

    /**
     * A destination: an embedded store directory, or a remote {@code coffer destination} server.
     *
     * @param store the store directory for an embedded destination, else empty
     * @param address {@code host:port} of a remote destination, else empty
     * @param tokenFile file holding the pre-shared token (remote)
     * @param tlsCa CA certificate to trust (remote, TLS)
     * @param tlsCert client certificate (remote, mutual TLS)
     * @param tlsKey client key (remote, mutual TLS)
     * @param plaintext plaintext on loopback only, when both ends are configured for it
     */
    public record Destination(Optional<Path> store, Optional<String> address, Optional<Path> tokenFile,
            Optional<Path> tlsCa, Optional<Path> tlsCert, Optional<Path> tlsKey, boolean plaintext) {}

    /**
     * A datastore: a directory whose sub-folders are VMs.
     *
     * @param name short name used by policies
     * @param path the live directory
     * @param snapshotTemplate where the controller's storage snapshots of it appear, with
     *     {@code {datastore}} and {@code {snapshot}} placeholders; empty when it has none
     */
    public record Datastore(String name, Path path, Optional<String> snapshotTemplate) {}

    /**
     * The query API endpoints.
     *
     * @param socket Unix domain socket path (file permissions guard it)
     * @param listen optional TCP {@code host:port}; requires {@code tokenFile}
     * @param tokenFile bearer token for TCP clients
     */
    public record Query(Path socket, Optional<String> listen, Optional<Path> tokenFile) {}

    /**
     * Global limits.
     *
     * @param maxReadBytesPerSecond ceiling of the backup read rate, 0 for none (the load governor still applies)
     * @param concurrentJobs how many backups run at once
     */
    public record Limits(long maxReadBytesPerSecond, int concurrentJobs) {}

    /** A policy: which VMs, when, from which point in time, kept how long, at which priority. */
    public record Policy(
            String name,
            Path definedIn,
            int line,
            List<String> datastores,
            String folderGlob,
            String nameRegex,
            Map<String, String> tags,
            List<String> schedules,
            boolean onNewSnapshot,
            Source source,
            Retention retention,
            int priority,
            Optional<Window> window,
            long bandwidthBytesPerSecond) {}

    /** Point-in-time source of a policy. */
    public enum Source {
        STORAGE_SNAPSHOT("storage-snapshot"),
        REFLINK("reflink"),
        VM_SNAPSHOT("vm-snapshot"),
        LIVE("live");

        private final String yaml;

        Source(String yaml) {
            this.yaml = yaml;
        }

        /** The spelling used in the YAML file. */
        public String yaml() {
            return yaml;
        }
    }

    /** Retention: how many of each kind of restore point to keep (0 = none of that kind). */
    public record Retention(int last, int daily, int weekly, int monthly, int yearly) {}

    /** A daily window in the controller's time zone; {@code start > end} wraps past midnight. */
    public record Window(LocalTime start, LocalTime end) {
        /** Whether {@code t} is inside the window. */
        public boolean contains(LocalTime t) {
            return start.isBefore(end) || start.equals(end)
                    ? !t.isBefore(start) && t.isBefore(end)
                    : !t.isBefore(start) || t.isBefore(end);
        }
    }
}
