package dev.coffer.agent.daemon;

import dev.coffer.testkit.Fixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * A real datastore (the {@code vm-folder} fixture: one Windows-like VM with an MBR disk holding NTFS)
 * copied into a test directory, with a config file the test writes, for daemons started in-process or
 * as child JVMs.
 */
public final class DaemonFixture {
    public final Path dir;
    public final Path datastore;
    public final Path config;
    public final Path socket;
    public final Path token;

    public DaemonFixture(Path dir) throws IOException {
        this.dir = dir;
        this.datastore = dir.resolve("ds");
        copyTree(Fixtures.build("vm-folder", "mbr", "winvm").resolve("datastore"), datastore);
        this.config = dir.resolve("coffer.yaml");
        this.socket = dir.resolve("run/query.sock");
        this.token = Files.writeString(dir.resolve("query.token"), "s3cret-token\n");
    }

    /** The config header (catalog, embedded store, datastore with snapshots, query socket) plus {@code rest}. */
    public Path writeConfig(String query, String rest) throws IOException {
        String text = "catalog: catalog.db\n"
                + "destination:\n  store: store\n"
                + "datastores:\n  - name: ds1\n    path: ds\n    snapshots: \"{datastore}/.snapshot/{snapshot}\"\n"
                + "query:\n  socket: run/query.sock\n" + query
                + "timezone: UTC\n" + rest;
        Files.writeString(config, text);
        return config;
    }

    /** Makes storage snapshot {@code name} of the datastore the way a controller does: it appears whole, at once. */
    public void snapshot(String name) throws IOException {
        Path parent = datastore.resolve(".snapshot");
        Files.createDirectories(parent);
        Path tmp = parent.resolve(".making-" + name);
        try (Stream<Path> s = Files.list(datastore)) {
            for (Path p : s.toList()) {
                if (!p.getFileName().toString().startsWith(".")) {
                    copyTree(p, tmp.resolve(p.getFileName().toString()));
                }
            }
        }
        Files.move(tmp, parent.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    public Path catalog() {
        return dir.resolve("catalog.db");
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** Polls {@code condition} every 20 ms until it holds or {@code timeout} passes; false on timeout. */
    public static boolean await(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(20);
        }
        return condition.getAsBoolean();
    }
}
