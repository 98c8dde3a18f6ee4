package dev.coffer.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Keeps one unpacked copy of sqlite-jdbc's native library per version in a cache folder and points
 * the driver at it. Left alone, the driver unpacks the library into the temporary folder on every
 * start (and scans that folder for stale copies), ~60 ms of each short command; copies left by
 * killed processes pile up in /tmp. The cache is {@code $XDG_CACHE_HOME/coffer}, else
 * {@code ~/.cache/coffer}; when it cannot be written, or the library is not where this expects it,
 * nothing is set and the driver does as it always did.
 */
final class SqliteNative {
    private SqliteNative() {}

    static void useCachedCopy() {
        if (System.getProperty("org.sqlite.lib.path") != null) {
            return;
        }
        try {
            // Named by what the JVM reports, so finding the copy costs no probing. Which build of the
            // library fits (glibc or musl, Android) is sqlite-jdbc's call, asked only when unpacking:
            // it runs a process to find out.
            String name = "sqlitejdbc-" + org.sqlite.SQLiteJDBCLoader.getVersion() + "-"
                    + System.getProperty("os.name").replace(' ', '_') + "-" + System.getProperty("os.arch") + "-"
                    + System.mapLibraryName("sqlitejdbc");
            Path dir = cacheDir();
            Path lib = dir.resolve(name);
            if (!Files.isRegularFile(lib)) {
                String resource = "/org/sqlite/native/" + org.sqlite.util.OSInfo.getNativeLibFolderPathForCurrentOS()
                        + "/" + System.mapLibraryName("sqlitejdbc");
                try (InputStream in = SqliteNative.class.getResourceAsStream(resource)) {
                    if (in == null) {
                        return;
                    }
                    Files.createDirectories(dir);
                    Path tmp = Files.createTempFile(dir, name, ".part");
                    try {
                        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                        Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    } finally {
                        Files.deleteIfExists(tmp);
                    }
                }
            }
            System.setProperty("org.sqlite.lib.path", dir.toString());
            System.setProperty("org.sqlite.lib.name", name);
        } catch (IOException | RuntimeException e) {
            // the driver unpacks its own copy
        }
    }

    private static Path cacheDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("coffer");
    }
}
