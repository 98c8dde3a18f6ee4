package dev.coffer.agent.cli;

import dev.coffer.agent.Causes;
import dev.coffer.agent.SqliteNative;
import dev.coffer.agent.backup.Destinations;
import dev.coffer.agent.config.AgentConfig;
import dev.coffer.catalog.Catalog;
import dev.coffer.dedup.Destination;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/** The catalog and (when asked for) the destination a command works on; closes both. */
public final class Session implements AutoCloseable {
    private final Catalog catalog;
    private final SessionOptions options;
    /** Whether a missing embedded store may be made (a backup), or is an error (everything else). */
    private final boolean create;
    /** Whether an embedded store is opened for reading only (a restore). */
    private final boolean forReading;
    /** The destination being opened on another thread ({@link #openWithDestination}), until taken. */
    private FutureTask<Destination> opening;
    private Destination destination;
    private String destinationName;

    private Session(Catalog catalog, SessionOptions options, boolean create, boolean forReading,
            FutureTask<Destination> opening) {
        this.catalog = catalog;
        this.options = options;
        this.create = create;
        this.forReading = forReading;
        this.opening = opening;
    }

    /**
     * Opens the catalog; with {@code create} a missing catalog file is made (a first backup),
     * otherwise a missing one is an error naming the file.
     */
    public static Session open(SessionOptions options, boolean create) throws IOException {
        return new Session(openCatalog(options, create), options, create, false, null);
    }

    /**
     * Opens the catalog for a restore, whose embedded store, when it is asked for, is opened for reading
     * only: no recovery pass and nothing written to its index (which cost a one-file restore fsyncs and a
     * write transaction at open and a checkpoint at close), and other restores may read it at the same
     * time. With {@code destinationNow} the destination is opened at once on a second thread, as in
     * {@link #openWithDestination}.
     */
    public static Session openForReading(SessionOptions options, boolean destinationNow) throws IOException {
        if (!destinationNow) {
            return new Session(openCatalog(options, false), options, false, true, null);
        }
        return openWithDestination(options, false, true);
    }

    /**
     * Opens the catalog, and meanwhile the destination on a second thread, for a command that needs
     * both at once: a one-file restore spent ~20 ms opening each, one after the other, of a start that
     * is most of its time, and an incremental backup ~15 ms (docs/performance.md). {@link #destination()}
     * waits for it; its errors are reported there, as if it had been opened then. {@code create} as for
     * {@link #open}, and for the destination as in {@link #openDestination}.
     */
    public static Session openWithDestination(SessionOptions options, boolean create) throws IOException {
        return openWithDestination(options, create, false);
    }

    private static Session openWithDestination(SessionOptions options, boolean create, boolean forReading)
            throws IOException {
        // before the store's thread starts: the driver's library is loaded from its cached copy, and
        // the store and the catalog do not both build the first configuration
        SqliteNative.loadForStorage();
        SqliteNative.firstConfig();
        FutureTask<Destination> opening = new FutureTask<>(new Connect(options, create, forReading));
        Thread t = new Thread(opening, "coffer-destination-open");
        t.setDaemon(true);
        t.start();
        Catalog catalog;
        try {
            catalog = openCatalog(options, create);
        } catch (IOException | RuntimeException | Error e) {
            closeWhenOpened(opening);
            throw e;
        }
        return new Session(catalog, options, create, forReading, opening);
    }

    private static Catalog openCatalog(SessionOptions options, boolean create) throws IOException {
        Path file = options.catalogFile();
        if (!create && !Files.isRegularFile(file)) {
            throw new IOException("no catalog at " + file + " (no backup was made with it yet)");
        }
        if (create && file.toAbsolutePath().getParent() != null) {
            Files.createDirectories(file.toAbsolutePath().getParent());
        }
        SqliteNative.loadForStorage(); // normally done by the warm-up thread by now
        // The driver's first configuration builds a date formatter (~15 ms of CPU): if the warm-up thread
        // is building it, wait for that one rather than build a second beside it.
        SqliteNative.firstConfig();
        return Catalog.open(file);
    }

    public Catalog catalog() {
        return catalog;
    }

    /** The destination, connected on first use (or by then on the second thread). */
    public synchronized Destination destination() throws IOException {
        if (destination == null) {
            destination = opening != null ? take() : openDestination(options, create, forReading);
            destinationName = Destinations.name(options.destinationSpec());
        }
        return destination;
    }

    private Destination take() throws IOException {
        FutureTask<Destination> f = opening;
        opening = null;
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeWhenOpened(f);
            throw new InterruptedIOException("interrupted while opening the destination");
        } catch (ExecutionException e) {
            throw Causes.io(e);
        }
    }

    /** How the catalog names the destination ({@code local:/dir} or {@code remote:host:port}). */
    public String destinationName() throws IOException {
        destination();
        return destinationName;
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            if (destination != null) {
                destination.close();
            } else if (opening != null) {
                closeWhenOpened(opening);
                opening = null;
            }
        } finally {
            catalog.close();
        }
    }

    /** Closes what a destination being opened yields, once it has (a store holds a lock until closed). */
    private static void closeWhenOpened(FutureTask<Destination> opening) {
        try {
            opening.get().close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | IOException | RuntimeException e) {
            // it failed to open, or to close: nothing is left open that could be closed here
        }
    }

    /**
     * The destination the options name. An embedded store that does not exist is made only for a
     * backup: for a restore or a verify a mistyped directory is an error naming it, not a new empty
     * store there (and "no block ..." for every file).
     */
    private static Destination openDestination(SessionOptions options, boolean create, boolean forReading)
            throws IOException {
        AgentConfig.Destination spec = options.destinationSpec();
        if (!create && spec.store().isPresent() && !Files.isRegularFile(spec.store().get().resolve("index.db"))) {
            throw new IOException("no store at " + spec.store().get() + " (no backup was made with it yet)");
        }
        return Destinations.open(spec, forReading);
    }

    /** Opens the destination (a class, not a lambda: it runs at start, see Warmup). */
    private record Connect(SessionOptions options, boolean create, boolean forReading) implements Callable<Destination> {
        @Override
        public Destination call() throws IOException {
            return openDestination(options, create, forReading);
        }
    }
}
