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
            try {
                // Loaded here first, so that a copy that will not load (a cache folder mounted noexec, a
                // damaged file) leaves the driver to its own way, unpacked into the temporary folder,
                // without its two logged errors on every start. Loaded by this class loader, the library
                // serves the driver's classes, and the driver's own load of the same file is then a no-op.
                System.load(lib.toAbsolutePath().toString());
            } catch (UnsatisfiedLinkError e) {
                Files.deleteIfExists(lib); // unpacked afresh by the next start
                return;
            }
            System.setProperty("org.sqlite.lib.path", dir.toString());
            System.setProperty("org.sqlite.lib.name", name);
            // Before loading, the driver deletes copies it unpacked earlier ("sqlite-VERSION-*" without a
            // lock file) from its temporary folder, listing all of it: ~300 entries in /tmp here, ~10 ms of
            // a one-file restore. It unpacks nothing now, so the folder it cleans is the cache folder,
            // whose own library is named differently and is never such a copy.
            if (System.getProperty("org.sqlite.tmpdir") == null) {
                System.setProperty("org.sqlite.tmpdir", dir.toString());
            }
        } catch (IOException | RuntimeException e) {
            // the driver unpacks its own copy
        }
    }

    private static boolean loaded;

    /**
     * Loads the driver's native library, the cached copy where it loads ({@link #useCachedCopy}). The
     * warm-up thread calls this for every command that opens a catalog, and {@code Session} before it
     * opens one: the second call waits for the first, or finds the library loaded.
     *
     * @throws Exception the driver's error when its library cannot be loaded at all
     */
    public static synchronized void load() throws Exception {
        useCachedCopy();
        org.sqlite.SQLiteJDBCLoader.initialize();
    }

    private static boolean configured;

    /**
     * Builds sqlite-jdbc's first configuration, once: it builds a date formatter (~13 ms with the JRE's
     * locale data) that every later connection shares. The catalog warm-up and a restore's main thread
     * both call this; the second to arrive waits for the first instead of building a second formatter
     * beside it.
     */
    public static synchronized void firstConfig() {
        if (!configured) {
            new org.sqlite.SQLiteConfig();
            configured = true;
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
