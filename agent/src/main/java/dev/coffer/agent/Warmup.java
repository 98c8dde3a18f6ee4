package dev.coffer.agent;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Set;

/**
 * One-time work a command will need, done on a second thread while the main thread parses the
 * command line and opens files, so that a short command does not pay for it in sequence on one core.
 *
 * <ul>
 *   <li>Commands that open a catalog or a store: sqlite-jdbc's native library is pointed at its cached
 *       copy ({@link SqliteNative}) and loaded, which starts SLF4J, and its configuration class is
 *       initialised (it builds a locale-aware date formatter, ~20 ms), and the
 *       JSON mapper the listings print through is built (~50 ms of class loading; not for a restore
 *       without {@code --json}, whose summary is printed without Jackson, nor for a backup, whose
 *       summary is printed through Jackson's streaming generator alone).</li>
 *   <li>Commands that hash content (restore, demo, backup): JNA and zstd-jni are pointed at their
 *       cached libraries ({@link CachedNatives}), the digests are loaded ({@code Digests}: libcrypto
 *       through JNA, ~10 ms), and for the commands that compress (demo, backup) the block codecs
 *       ({@code BlockCodecs.preload}: LZ4's and zstd's JNI libraries, which LZ4 self-tests as it
 *       loads, ~20 ms) before the first block needs them, and libcrypto's per-block calls are bound
 *       direct ({@code Digests.bindDirectCalls}). Where libcrypto is missing, the JDK's SHA-256 is run until
 *       the JIT has compiled it with the CPU's SHA instructions. Until then a restore's first ~10 MiB
 *       are hashed in the interpreter at ~7 ms/MiB instead of ~0.7 ms/MiB (measured in
 *       {@code docs/performance.md}, "Restoring one file"). The loop stops as soon as a 1 MiB digest
 *       runs at compiled speed, and after at most {@link #MAX_WARMUP_MIB} MiB either way.</li>
 *   <li>A restore a running agent does ({@code restore --socket}, without {@code --local}): only
 *       Jackson's streaming parser and tree nodes, which this process reads the agent's answers with;
 *       the catalog's and the digests' warm-ups would be work for the agent, done here.</li>
 * </ul>
 *
 * <p>Nothing here is required: a failure is ignored, and the real work initialises whatever the
 * warm-up did not reach (the JVM makes class initialisation wait rather than run twice).
 */
final class Warmup {
    /** Upper bound of the SHA-256 warm-up: 64 MiB, ~0.5 s of interpreted hashing at worst. */
    static final int MAX_WARMUP_MIB = 64;
    /** A 1 MiB digest faster than this ran compiled (interpreted: ~7 ms; compiled with SHA-NI: ~0.7 ms). */
    private static final long COMPILED_NANOS_PER_MIB = 2_000_000;
    private static final Set<String> NO_CATALOG = Set.of("fs", "image", "cds-train", "target", "--help", "-h",
            "--version", "-V", "help");
    private static final Set<String> HASHING = Set.of("restore", "demo", "backup");
    /** The hashing commands that also compress blocks. */
    private static final Set<String> COMPRESSING = Set.of("demo", "backup");
    /** Commands whose text output does not go through Jackson's object mapper: loading it for them would be work wasted. */
    private static final Set<String> TEXT_WITHOUT_JACKSON = Set.of("restore");
    /**
     * Commands that print without the object mapper, JSON included ({@code PlainJson}): a backup. (Through
     * a running agent it still parses the agent's answers with it, and builds it then.)
     */
    private static final Set<String> WITHOUT_JACKSON = Set.of("backup");

    private Warmup() {}

    /**
     * Starts the warm-up a command line needs (nothing for an empty line), on up to two daemon threads,
     * in the order the command needs the pieces: the driver's native library and its first configuration
     * (which needs no native code) side by side, as the main thread waits for both before it opens the
     * catalog; then, on the library's thread, the digests and codecs, which a restore's pipeline needs
     * ~30 ms after the catalog is open. On one thread the pipeline waited for all three (~150 ms of a 50
     * MB restore). With the digests on a second thread beside the library, and the configuration after
     * the library, the three shared two cores and the catalog opened ~60 ms after the main class loaded;
     * the configuration and the library each had a core to themselves when the digests waited for the
     * library (docs/performance.md, "Restoring one file").
     */
    static void start(String[] args) {
        if (args.length == 0 || Main.DAEMONS.contains(args[0])) {
            // a daemon's start is not a latency to save, and a warm-up thread starting SLF4J beside the
            // daemon's own first logger made that logger a stand-in, whose level the daemon then could
            // not set (its INFO lines went missing, seen once in DaemonProcessTest)
            return;
        }
        boolean catalog = !NO_CATALOG.contains(args[0]);
        boolean hashing = HASHING.contains(args[0]);
        boolean compressing = COMPRESSING.contains(args[0]);
        boolean json = !WITHOUT_JACKSON.contains(args[0])
                && (!TEXT_WITHOUT_JACKSON.contains(args[0]) || java.util.Arrays.asList(args).contains("--json"));
        if (args[0].equals("restore") && option(args, "--socket") && !option(args, "--local")) {
            // the agent on that socket restores: this process only asks it, in JSON, and prints the answer
            start(new JsonTrack(), "coffer-warmup-json");
        } else if (catalog) {
            start(new ConfigTrack(json), "coffer-warmup-config");
            start(new CatalogTrack(hashing, compressing), "coffer-warmup-catalog");
        } else if (hashing) {
            start(new HashingTrack(compressing), "coffer-warmup-hashing");
        }
    }

    /** Whether the command line has the option {@code name}, as {@code name VALUE} or {@code name=VALUE}. */
    static boolean option(String[] args, String name) {
        for (String a : args) {
            if (a.equals("--")) {
                return false;
            }
            if (a.equals(name) || a.startsWith(name + "=")) {
                return true;
            }
        }
        return false;
    }

    private static void start(Runnable task, String name) {
        Thread t = new Thread(task, name);
        t.setDaemon(true);
        t.start();
    }

    /*
     * The tracks as classes, not lambdas: the first lambda a JVM links costs ~10 ms (the lambda
     * machinery starts up), which this way a warm-up thread pays, not the main thread. A failure is
     * ignored: the command initialises what it needs itself.
     */

    /** The driver's native library, then (for the hashing commands) the digests and codecs. */
    private record CatalogTrack(boolean hashing, boolean compressing) implements Runnable {
        @Override
        public void run() {
            try {
                SqliteNative.load();
            } catch (Exception | LinkageError e) {
                // see above
            }
            if (hashing) {
                new HashingTrack(compressing).run();
            }
        }
    }

    /** The driver's first configuration, then (for the listings) Jackson's mapper. */
    private record ConfigTrack(boolean json) implements Runnable {
        @Override
        public void run() {
            try {
                SqliteNative.firstConfig();
                if (json) {
                    // the listings print through Jackson (tables are built from the JSON form)
                    Class.forName("dev.coffer.agent.cli.Json", true, Warmup.class.getClassLoader());
                }
            } catch (Exception | LinkageError e) {
                // see above
            }
        }
    }

    /** Jackson's streaming parser and tree nodes: a command that has a running agent do the work. */
    private record JsonTrack() implements Runnable {
        @Override
        public void run() {
            try {
                Class.forName("dev.coffer.agent.api.JsonTrees", true, Warmup.class.getClassLoader());
            } catch (Exception | LinkageError e) {
                // see above
            }
        }
    }

    private record HashingTrack(boolean compressing) implements Runnable {
        @Override
        public void run() {
            try {
                hashing(compressing);
            } catch (Exception | LinkageError e) {
                // see above
            }
        }
    }

    private static void hashing(boolean compressing) throws NoSuchAlgorithmException {
        CachedNatives.jna();
        CachedNatives.zstd();
        boolean nativeDigests = dev.coffer.dedup.Digests.nativeDigests();
        if (compressing) {
            // LZ4's and zstd's JNI libraries, loaded (LZ4's self-tested, ~20 ms) before the first block is
            // compressed; a restore loads them only if it meets a compressed block
            dev.coffer.dedup.BlockCodecs.preload();
            // six libcrypto calls per block: direct-mapped, ~0.3 s less CPU in a full backup of 20,000 files
            dev.coffer.dedup.Digests.bindDirectCalls();
        }
        if (!nativeDigests) {
            warmSha256(); // libcrypto is fast from the first byte; the JDK's digest needs the JIT first
        }
    }

    /** Hashes 1 MiB at a time until one digest runs at compiled speed; returns the MiB hashed. */
    static int warmSha256() throws NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 20];
        for (int mib = 1; mib <= MAX_WARMUP_MIB; mib++) {
            long t0 = System.nanoTime();
            md.update(buf);
            md.digest();
            if (System.nanoTime() - t0 < COMPILED_NANOS_PER_MIB) {
                return mib;
            }
        }
        return MAX_WARMUP_MIB;
    }
}
