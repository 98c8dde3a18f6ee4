package dev.coffer.agent;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Points JNA and zstd-jni at their copies in {@link NativeCache}. Left alone, each unpacks its
 * library into a fresh temporary file on every start: the file's random name alone starts the JDK's
 * {@code SecureRandom} and its providers (~20 ms of CPU of a one-file restore, which loads JNA for
 * libcrypto's digests). Linux on x86-64 and aarch64 only; elsewhere, or when a library is not in a jar
 * or the cache cannot be written, the library unpacks its own copy as always.
 *
 * <p>Each must run before its library first loads: the hashing warm-up thread ({@link Warmup}) runs
 * them first. If something else loads a library before, it unpacks its own copy, as without this.
 */
final class CachedNatives {
    private static boolean jna;
    private static boolean zstd;

    private CachedNatives() {}

    /** JNA's dispatch library ({@code jna.boot.library.path}), in a folder named by its jar entry's CRC and size. */
    static synchronized void jna() {
        if (jna) {
            return;
        }
        jna = true;
        String platform = platform("linux-x86-64", "linux-aarch64");
        if (platform == null || System.getProperty("jna.boot.library.path") != null) {
            return;
        }
        String file = System.mapLibraryName("jnidispatch");
        String resource = "/com/sun/jna/" + platform + "/" + file;
        try {
            String version = NativeCache.jarEntryVersion(resource);
            if (version == null) {
                return;
            }
            Path dir = NativeCache.dir().resolve("jna-" + version);
            if (NativeCache.unpack(resource, dir.resolve(file))) {
                System.setProperty("jna.boot.library.path", dir.toString());
            }
        } catch (IOException | RuntimeException e) {
            // JNA unpacks its own copy
        }
    }

    /** zstd-jni's library ({@code ZstdNativePath}), whose file name carries its version. */
    static synchronized void zstd() {
        if (zstd) {
            return;
        }
        zstd = true;
        String platform = platform("linux/amd64", "linux/aarch64");
        if (platform == null || System.getProperty("ZstdNativePath") != null) {
            return;
        }
        String file = System.mapLibraryName("zstd-jni-" + com.github.luben.zstd.util.ZstdVersion.VERSION);
        try {
            Path lib = NativeCache.dir().resolve(file);
            if (NativeCache.unpack("/" + platform + "/" + file, lib)) {
                System.setProperty("ZstdNativePath", lib.toString());
            }
        } catch (IOException | RuntimeException e) {
            // zstd-jni unpacks its own copy
        }
    }

    /** The library's folder name for this JVM's platform, or null off Linux x86-64 and aarch64. */
    private static String platform(String x86, String arm) {
        if (!System.getProperty("os.name", "").equals("Linux")) {
            return null;
        }
        return switch (System.getProperty("os.arch", "")) {
            case "amd64", "x86_64" -> x86;
            case "aarch64" -> arm;
            default -> null;
        };
    }
}
