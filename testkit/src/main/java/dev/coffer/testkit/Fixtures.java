package dev.coffer.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Builds test fixtures by running the shell recipes in {@code scripts/fixtures/} with real tools
 * (sfdisk, sgdisk, mkntfs, ntfs-3g, qemu-img), once per recipe version.
 *
 * <p>A fixture is the output directory of {@code scripts/fixtures/RECIPE.sh OUTDIR ARGS...}. It is
 * cached under {@code <repo>/target/fixtures/RECIPE-<hash>/}, where the hash covers the text of every
 * file in {@code scripts/fixtures/} (recipes call one another) and the arguments, so an edited recipe
 * rebuilds and an unchanged one does not. Builds run in a temporary directory that is renamed into place only when the recipe succeeds;
 * a file lock serialises concurrent builders (parallel Maven modules, parallel test classes).
 *
 * <p>A missing tool or a failing recipe throws {@link FixtureException} with the recipe's output: a
 * fixture that cannot be built fails the test, it never skips it.
 */
public final class Fixtures {
    /** How long one recipe may run before it is killed (the largest recipes take ~30 s here). */
    private static final long RECIPE_TIMEOUT_SECONDS = 600;

    private Fixtures() {}

    /** The repository root: {@code -Dcoffer.root}, else the nearest parent holding {@code scripts/fixtures}. */
    public static Path repoRoot() {
        String prop = System.getProperty("coffer.root");
        if (prop != null && Files.isDirectory(Path.of(prop, "scripts", "fixtures"))) {
            return Path.of(prop).toAbsolutePath().normalize();
        }
        Path p = Path.of("").toAbsolutePath();
        for (; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("scripts").resolve("fixtures"))) {
                return p;
            }
        }
        throw new FixtureException("cannot find the repository root (no scripts/fixtures above "
                + Path.of("").toAbsolutePath() + "); set -Dcoffer.root");
    }

    /** The {@code shared/samples} folder of real VMware-made disks, beside the repository. */
    public static Path samples() {
        Path root = repoRoot();
        for (Path candidate : List.of(root.resolveSibling("shared").resolve("samples"),
                root.getParent().resolveSibling("shared").resolve("samples"))) {
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        throw new FixtureException("shared/samples not found beside " + root);
    }

    /**
     * Returns the output directory of {@code scripts/fixtures/RECIPE.sh OUTDIR ARGS...}, building it
     * first when no build of this recipe version with these arguments exists.
     */
    public static Path build(String recipe, String... args) {
        Path root = repoRoot();
        Path script = root.resolve("scripts/fixtures/" + recipe + ".sh");
        if (!Files.isRegularFile(script)) {
            throw new FixtureException("no fixture recipe " + script);
        }
        String key = recipe + "-" + recipeHash(root, script, args);
        Path cache = root.resolve("target").resolve("fixtures");
        Path out = cache.resolve(key);
        try {
            Files.createDirectories(cache);
            try (FileChannel lockFile = FileChannel.open(cache.resolve(key + ".lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    FileLock ignored = lockFile.lock()) {
                if (Files.isRegularFile(out.resolve(".complete"))) {
                    return out;
                }
                Path tmp = cache.resolve(key + ".tmp");
                deleteTree(tmp);
                Files.createDirectories(tmp);
                List<String> cmd = new ArrayList<>(List.of("bash", script.toString(), tmp.toString()));
                cmd.addAll(List.of(args));
                run(RECIPE_TIMEOUT_SECONDS, cmd.toArray(String[]::new));
                Files.writeString(tmp.resolve(".complete"), key + "\n");
                deleteTree(out);
                try {
                    Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, out);
                }
                return out;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("fixture " + key, e);
        }
    }

    /**
     * Runs a tool and returns its standard output. A missing tool, a non-zero exit or a timeout
     * throws {@link FixtureException} carrying the command and its combined output.
     */
    public static String run(long timeoutSeconds, String... cmd) {
        requireTool(cmd[0]);
        try {
            Path log = Files.createTempFile("coffer-fixture", ".log");
            Path outFile = Files.createTempFile("coffer-fixture", ".out");
            try {
                Process p = new ProcessBuilder(cmd)
                        .redirectError(log.toFile())
                        .redirectOutput(outFile.toFile())
                        .start();
                if (!p.waitFor(timeoutSeconds, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new FixtureException("timed out after " + timeoutSeconds + " s: "
                            + String.join(" ", cmd) + "\n" + tail(log));
                }
                String stdout = Files.readString(outFile, StandardCharsets.UTF_8);
                if (p.exitValue() != 0) {
                    throw new FixtureException("exit " + p.exitValue() + ": " + String.join(" ", cmd)
                            + "\n" + tail(log) + "\n" + tailOf(stdout));
                }
                return stdout;
            } finally {
                Files.deleteIfExists(log);
                Files.deleteIfExists(outFile);
            }
        } catch (IOException e) {
            throw new FixtureException("cannot run " + String.join(" ", cmd) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FixtureException("interrupted: " + String.join(" ", cmd));
        }
    }

    /** Runs a tool with a 10-minute limit and returns its standard output. */
    public static String run(String... cmd) {
        return run(RECIPE_TIMEOUT_SECONDS, cmd);
    }

    /** Fails loudly when {@code tool} is not on the PATH: {@code scripts/test} installs every tool. */
    public static void requireTool(String tool) {
        if (tool.contains("/")) {
            if (!Files.isExecutable(Path.of(tool))) {
                throw new FixtureException("required tool missing: " + tool);
            }
            return;
        }
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return;
            }
        }
        for (String dir : List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return;
            }
        }
        throw new FixtureException("required tool missing: " + tool
                + " (scripts/test installs it: qemu-utils, ntfs-3g, sleuthkit, fdisk, gdisk)");
    }

    /** The lowercase hex MD5 of a file's bytes. */
    public static String md5(Path file) {
        return digest("MD5", file);
    }

    /** The lowercase hex digest of a file's bytes with {@code algorithm}. */
    public static String digest(String algorithm, Path file) {
        try (var in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(file.toString(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String recipeHash(Path root, Path script, String[] args) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(Files.readAllBytes(script));
            // recipes call one another and share lib.sh: any change to any of them rebuilds
            try (Stream<Path> all = Files.list(script.getParent())) {
                for (Path p : all.filter(Files::isRegularFile).sorted().toList()) {
                    md.update(p.getFileName().toString().getBytes(StandardCharsets.UTF_8));
                    md.update(Files.readAllBytes(p));
                }
            }
            for (String a : args) {
                md.update((byte) 0);
                md.update(a.getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest(), 0, 6);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String tail(Path log) throws IOException {
        return tailOf(Files.readString(log, StandardCharsets.UTF_8));
    }

    private static String tailOf(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
