package dev.coffer.agent.cli;

import dev.coffer.agent.api.ApiClient;
import dev.coffer.agent.config.AgentConfig;
import dev.coffer.agent.config.ConfigLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * The options every catalog or destination command shares: {@code --catalog}, {@code --destination}
 * and credentials, falling back to the agent's config file ({@code --config}, {@code $COFFER_CONFIG},
 * or {@code /etc/coffer/coffer.yaml} when it exists); and whether to ask the running agent instead
 * ({@code --socket}, {@code --local}, see {@link #agent()}).
 */
public final class SessionOptions {
    /** Where the agent's config lives when nothing else says. */
    static final Path DEFAULT_CONFIG = Path.of("/etc/coffer/coffer.yaml");

    @Option(names = "--config", paramLabel = "FILE", description = "Agent config to take the catalog and destination from.")
    Path config;

    @Option(names = "--catalog", paramLabel = "DB", description = "Catalog database file.")
    Path catalog;

    @Option(names = "--destination", paramLabel = "DIR|HOST:PORT",
            description = "A store directory (embedded destination) or a coffer destination server.")
    String destination;

    @Option(names = "--token-file", paramLabel = "FILE", description = "Pre-shared token for a remote destination.")
    Path tokenFile;

    @Option(names = "--tls-ca", paramLabel = "PEM", description = "CA that signed the destination's certificate.")
    Path tlsCa;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Client certificate (mutual TLS).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "Client key (mutual TLS).")
    Path tlsKey;

    @Option(names = "--plaintext", description = "Plaintext to a loopback destination started with --plaintext-loopback.")
    boolean plaintext;

    @Option(names = "--socket", paramLabel = "PATH",
            description = "Ask the agent listening on this query socket (default: the config's query.socket, when an agent answers there).")
    Path socket;

    @Option(names = "--local", description = "Open the catalog and destination directly, even when an agent is running.")
    boolean local;

    private Optional<AgentConfig> loaded;

    /** The options above that take a value, by name (for command lines read without picocli). */
    public static final Set<String> VALUE_OPTIONS = Set.of("--config", "--catalog", "--destination", "--token-file",
            "--tls-ca", "--tls-cert", "--tls-key", "--socket");
    /** The options above that take none. */
    public static final Set<String> FLAG_OPTIONS = Set.of("--plaintext", "--local");

    /**
     * Sets one option from a command line read without picocli ({@code value} null for a flag);
     * false when {@code name} is not one of these options.
     *
     * @throws java.nio.file.InvalidPathException for a value that is no path
     */
    public boolean set(String name, String value) {
        switch (name) {
            case "--config" -> config = Path.of(value);
            case "--catalog" -> catalog = Path.of(value);
            case "--destination" -> destination = value;
            case "--token-file" -> tokenFile = Path.of(value);
            case "--tls-ca" -> tlsCa = Path.of(value);
            case "--tls-cert" -> tlsCert = Path.of(value);
            case "--tls-key" -> tlsKey = Path.of(value);
            case "--socket" -> socket = Path.of(value);
            case "--plaintext" -> plaintext = true;
            case "--local" -> local = true;
            default -> {
                return false;
            }
        }
        return true;
    }

    /**
     * The running agent to ask instead of opening the catalog: the one on {@code --socket} (which must
     * answer), else the one on the config's {@code query.socket} when it answers. Empty with
     * {@code --local}, when {@code --catalog} or {@code --destination} name what to open, or when no
     * agent answers: the command then works directly, as without a daemon.
     */
    public Optional<ApiClient> agent() throws IOException {
        if (local) {
            if (socket != null) {
                throw new IOException("--local and --socket contradict each other: pick one");
            }
            return Optional.empty();
        }
        if (socket != null) {
            return Optional.of(ApiClient.ifRunning(socket).orElseThrow(() -> new IOException(
                    "no agent answers on " + socket + " (start it, or drop --socket to work directly)")));
        }
        if (catalog != null || destination != null) {
            return Optional.empty();
        }
        Optional<AgentConfig> c = config();
        return c.isEmpty() ? Optional.empty() : ApiClient.ifRunning(c.get().query().socket());
    }

    /** The config file in effect, if any (loaded once). */
    Optional<AgentConfig> config() throws IOException {
        if (loaded == null) {
            loaded = load();
        }
        return loaded;
    }

    private Optional<AgentConfig> load() throws IOException {
        Path f = config;
        if (f == null && System.getenv("COFFER_CONFIG") != null) {
            f = Path.of(System.getenv("COFFER_CONFIG"));
        }
        if (f == null && Files.isRegularFile(DEFAULT_CONFIG)) {
            f = DEFAULT_CONFIG;
        }
        return f == null ? Optional.empty() : Optional.of(ConfigLoader.load(f));
    }

    /** The catalog file: the option, else the config's; an error naming both ways when neither says. */
    Path catalogFile() throws IOException {
        if (catalog != null) {
            return catalog;
        }
        return config().map(AgentConfig::catalog).orElseThrow(() -> new IOException(
                "no catalog: pass --catalog DB, or --config FILE (or set COFFER_CONFIG)"));
    }

    /** The destination as given: an explicit option wins over the config. */
    AgentConfig.Destination destinationSpec() throws IOException {
        if (destination != null) {
            boolean remote = destination.matches("(\\[[0-9a-fA-F:]+]|[^/:\\s]+):\\d{1,5}") && !Files.isDirectory(Path.of(destination));
            return new AgentConfig.Destination(remote ? Optional.empty() : Optional.of(Path.of(destination)),
                    remote ? Optional.of(destination) : Optional.empty(), Optional.ofNullable(tokenFile),
                    Optional.ofNullable(tlsCa), Optional.ofNullable(tlsCert), Optional.ofNullable(tlsKey), plaintext);
        }
        return config().map(AgentConfig::destination).orElseThrow(() -> new IOException(
                "no destination: pass --destination DIR|HOST:PORT, or --config FILE (or set COFFER_CONFIG)"));
    }
}
