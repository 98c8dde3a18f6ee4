package dev.coffer.agent;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * One unpacked copy per version of the native libraries Coffer's dependencies ship inside the jar,
 * in a cache folder ({@code $XDG_CACHE_HOME/coffer}, else {@code ~/.cache/coffer}), so that a start
 * loads the copy instead of unpacking a fresh one into the temporary folder. Left alone, sqlite-jdbc
 * unpacks its library on every start (and scans the temporary folder for stale copies, ~60 ms), and
 * JNA its dispatch library (a temporary file name costs a {@code SecureRandom}, ~20 ms of CPU). When
 * the cache cannot be written, or a library is not where this expects it, nothing is set and the
 * library unpacks itself as it always did. See {@link SqliteNative} and {@link CachedNatives}.
 */
final class NativeCache {
    private NativeCache() {}

    /** The cache folder. */
    static Path dir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("coffer");
    }

    /**
     * {@code lib}, unpacked from the class-path resource {@code resource} if it is not there yet (under
     * a temporary name, then renamed, so a concurrent start never loads half a file); false when the
     * resource does not exist.
     */
    static boolean unpack(String resource, Path lib) throws IOException {
        if (Files.isRegularFile(lib)) {
            return true;
        }
        try (InputStream in = NativeCache.class.getResourceAsStream(resource)) {
            if (in == null) {
                return false;
            }
            Files.createDirectories(lib.getParent());
            Path tmp = Files.createTempFile(lib.getParent(), lib.getFileName().toString(), ".part");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        return true;
    }

    /**
     * A name for the version of a resource packed in a jar: its entry's CRC-32 and size, which the
     * jar's directory holds (nothing is unpacked to learn them); null when it is not in a jar.
     */
    static String jarEntryVersion(String resource) throws IOException {
        URL url = NativeCache.class.getResource(resource);
        if (url == null) {
            return null;
        }
        URLConnection c = url.openConnection();
        if (!(c instanceof JarURLConnection jar) || jar.getJarEntry() == null || jar.getJarEntry().getCrc() < 0) {
            return null;
        }
        return Long.toHexString(jar.getJarEntry().getCrc()) + "-" + jar.getJarEntry().getSize();
    }
}
