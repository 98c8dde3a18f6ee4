package dev.coffer.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Points sqlite-jdbc at the copy of its native library in {@link NativeCache}. Left alone, the driver
 * unpacks the library into the temporary folder on every start, ~60 ms of each short command, and
 * copies left by killed processes pile up in /tmp.
 *
 * <p>It must run before the driver first loads: {@link #load} runs it and then loads the library.
 */
public final class SqliteNative {
    private static boolean done;

    private SqliteNative() {}

    /** Points the driver at the cached copy of its library, unpacking it there first if need be (once). */
    public static synchronized void useCachedCopy() {
        if (done) {
            return;
        }
        done = true;
        if (System.getProperty("org.sqlite.lib.path") != null) {
            return;
        }
        try {
            // Named by what the JVM reports, so finding the copy costs no probing. Which build of the
            // library fits (glibc or musl, Android) is sqlite-jdbc's call, asked only when unpacking:
            // it runs a process to find out.
            String version = driverVersion();
            if (version == null) {
                return;
            }
            String name = "sqlitejdbc-" + version + "-"
                    + System.getProperty("os.name").replace(' ', '_') + "-" + System.getProperty("os.arch") + "-"
                    + System.mapLibraryName("sqlitejdbc");
            Path dir = NativeCache.dir();
            Path lib = dir.resolve(name);
            if (!Files.isRegularFile(lib)) {
                String resource = "/org/sqlite/native/" + org.sqlite.util.OSInfo.getNativeLibFolderPathForCurrentOS()
                        + "/" + System.mapLibraryName("sqlitejdbc");
                if (!NativeCache.unpack(resource, lib)) {
                    return;
                }
            }
            System.setProperty("org.sqlite.lib.path", dir.toString());
            System.setProperty("org.sqlite.lib.name", name);
        } catch (IOException | RuntimeException e) {
            // the driver unpacks its own copy
        }
    }

    /**
     * Loads the driver's native library, pointed at the cached copy first ({@link #useCachedCopy}); where
     * that copy will not load, the driver unpacks its own into the temporary folder. The
     * warm-up thread calls this for every command that opens a catalog, and {@code Session} before it
     * opens one (and before the store's thread starts): the second call waits for the first, or finds
     * the library loaded. (The library is never loaded here directly: a JVM in which the driver had
     * loaded its own copy already would then hold two, and bind some native methods to each.)
     *
     * @throws Exception the driver's error when its library cannot be loaded at all
     */
    public static synchronized void load() throws Exception {
        if (loaded) {
            return;
        }
        useCachedCopy();
        String cached = System.getProperty("org.sqlite.lib.path");
        try {
            org.sqlite.SQLiteJDBCLoader.initialize();
        } catch (Exception | LinkageError e) {
            String name = System.getProperty("org.sqlite.lib.name");
            if (cached == null || name == null) {
                throw e;
            }
            // Pointed at a copy, the driver does not unpack its own when that copy will not load (damaged,
            // or a cache folder mounted noexec): the copy is dropped (the next start unpacks it afresh)
            // and the driver loads the way it does by default, unpacked into the temporary folder.
            System.clearProperty("org.sqlite.lib.path");
            System.clearProperty("org.sqlite.lib.name");
            try {
                Files.deleteIfExists(Path.of(cached, name));
            } catch (IOException | RuntimeException ignored) {
                // it is only not replaced
            }
            org.sqlite.SQLiteJDBCLoader.initialize();
        }
        loaded = true;
    }

    private static boolean loaded;

    /**
     * {@link #load} for a command about to open a catalog or a store: the driver's failure becomes an
     * I/O error that names it.
     */
    public static void loadForStorage() throws IOException {
        try {
            load();
        } catch (IOException e) {
            throw e;
        } catch (Exception | LinkageError e) {
            throw new IOException("SQLite's native library cannot be loaded: " + e.getMessage(), e);
        }
    }

    /** Guards {@link #configured}: apart from {@link #load}'s lock, so that the two can run side by side. */
    private static final Object CONFIG_LOCK = new Object();
    /** @GuardedBy("CONFIG_LOCK") */
    private static boolean configured;

    /**
     * Builds sqlite-jdbc's first configuration, once: it builds a date formatter (~13 ms with the JRE's
     * locale data) that every later connection shares. The catalog warm-up and a restore's main thread
     * both call this; the second to arrive waits for the first instead of building a second formatter
     * beside it. It needs no native code, so it runs beside {@link #load} on a warm-up thread of its own.
     */
    public static void firstConfig() {
        synchronized (CONFIG_LOCK) {
            if (!configured) {
                new org.sqlite.SQLiteConfig();
                configured = true;
            }
        }
    }

    /**
     * The driver's version, from its Maven properties in the jar. Not from
     * {@code SQLiteJDBCLoader.getVersion()}: loading that class starts the driver's logging, and with it
     * SLF4J's (~30 ms), before the library path is set.
     */
    static String driverVersion() throws IOException {
        try (InputStream in = SqliteNative.class.getResourceAsStream("/META-INF/maven/org.xerial/sqlite-jdbc/pom.properties")) {
            if (in == null) {
                return null;
            }
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "").trim();
            // it names a file: anything but letters, digits, dots and dashes becomes '_' (no regex: ~10 ms to compile at start)
            StringBuilder name = new StringBuilder(v.length());
            for (char ch : v.toCharArray()) {
                boolean plain = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
                        || ch == '.' || ch == '-';
                name.append(plain ? ch : '_');
            }
            return name.isEmpty() ? null : name.toString();
        }
    }
}
