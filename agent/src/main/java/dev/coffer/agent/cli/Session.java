package dev.coffer.agent.cli;

import dev.coffer.agent.backup.Destinations;
import dev.coffer.agent.config.AgentConfig;
import dev.coffer.catalog.Catalog;
import dev.coffer.dedup.Destination;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The catalog and (when asked for) the destination a command works on; closes both. */
public final class Session implements AutoCloseable {
    private final Catalog catalog;
    private final SessionOptions options;
    private Destination destination;
    private String destinationName;

    private Session(Catalog catalog, SessionOptions options) {
        this.catalog = catalog;
        this.options = options;
    }

    /**
     * Opens the catalog; with {@code create} a missing catalog file is made (a first backup),
     * otherwise a missing one is an error naming the file.
     */
    public static Session open(SessionOptions options, boolean create) throws IOException {
        Path file = options.catalogFile();
        if (!create && !Files.isRegularFile(file)) {
            throw new IOException("no catalog at " + file + " (no backup was made with it yet)");
        }
        if (create && file.toAbsolutePath().getParent() != null) {
            Files.createDirectories(file.toAbsolutePath().getParent());
        }
        return new Session(Catalog.open(file), options);
    }

    public Catalog catalog() {
        return catalog;
    }

    /** The destination, connected on first use. */
    public Destination destination() throws IOException {
        if (destination == null) {
            AgentConfig.Destination spec = options.destinationSpec();
            destination = Destinations.open(spec);
            destinationName = Destinations.name(spec);
        }
        return destination;
    }

    /** How the catalog names the destination ({@code local:/dir} or {@code remote:host:port}). */
    public String destinationName() throws IOException {
        destination();
        return destinationName;
    }

    @Override
    public void close() throws IOException {
        try {
            if (destination != null) {
                destination.close();
            }
        } finally {
            catalog.close();
        }
    }
}
