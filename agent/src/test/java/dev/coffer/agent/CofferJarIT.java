package dev.coffer.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded {@code coffer.jar} as the launcher runs it (after {@code package}): SLF4J finds Coffer's
 * provider alone; a restore logs through its stderr lines without starting logback, and a daemon logs
 * through logback.
 */
class CofferJarIT {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    private static final Path JAR = ROOT.resolve("agent/target/coffer.jar");
    private static final Path DEMO_VM = ROOT.resolve("docs/examples/datastore/demo-vm");

    @TempDir
    Path tmp;

    @Test
    void theJar_registersCoffersLoggingProviderAlone() throws IOException {
        try (JarFile jar = new JarFile(JAR.toFile())) {
            var entry = jar.getEntry("META-INF/services/org.slf4j.spi.SLF4JServiceProvider");
            assertThat(entry).as("service registration in " + JAR).isNotNull();
            String text = new String(jar.getInputStream(entry).readAllBytes(), StandardCharsets.UTF_8);
            assertThat(text.strip()).isEqualTo(CofferLogging.class.getName());
        }
    }

    @Test
    void aRestore_logsStderrLines_withoutLogback() throws Exception {
        String catalog = tmp.resolve("c.db").toString();
        String store = tmp.resolve("store").toString();
        Result backup = run(Map.of(), "backup", "--no-throttle", "--catalog", catalog, "--destination", store, DEMO_VM.toString());
        assertThat(backup.code).as(backup.err).isZero();

        Path to = tmp.resolve("restored");
        Result restore = run(Map.of("COFFER_LOG_LEVEL", "DEBUG"), "-verbose:class", "restore", "--catalog", catalog,
                "--destination", store, "latest:/Documents/Reports/data.bin", "--to", to.toString());
        assertThat(restore.code).as(restore.err).isZero();
        assertThat(restore.out).contains("restored 1 of 1 files (1.0 MiB)").doesNotContain("ch.qos.logback.classic.LoggerContext");
        assertThat(restore.err).doesNotContain("SLF4J");
        List<String> lines = restore.err.lines().toList();
        assertThat(lines).isNotEmpty().allSatisfy(l -> assertThat(l)
                .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) (TRACE|DEBUG|INFO |WARN |ERROR) \\S+ .*"));
        assertThat(restore.err).contains("DEBUG DirectoryTarget restore commit file=data.bin");

        Result cat = run(Map.of(), "fs", "cat", DEMO_VM.resolve("demo-vm.vmdk").toString(), "/Documents/Reports/data.bin");
        assertThat(cat.code).as(cat.err).isZero();
        assertThat(Files.readAllBytes(to.resolve("data.bin"))).isEqualTo(cat.bytes);
    }

    @Test
    void aDamagedCachedSqliteLibrary_leavesTheDriverToItsOwnCopy() throws Exception {
        Path cache = tmp.resolve("cache");
        Map<String, String> env = Map.of("XDG_CACHE_HOME", cache.toString());
        String catalog = tmp.resolve("c.db").toString();
        Result first = run(env, "backup", "--no-throttle", "--catalog", catalog, "--destination",
                tmp.resolve("store").toString(), DEMO_VM.toString());
        assertThat(first.code).as(first.err).isZero();
        Path lib;
        try (var files = Files.list(cache.resolve("coffer"))) {
            lib = files.filter(f -> f.getFileName().toString().startsWith("sqlitejdbc-")).findFirst().orElseThrow();
        }
        byte[] good = Files.readAllBytes(lib);
        Files.writeString(lib, "not a shared library"); // as damage on disk could leave it

        // pointed at a copy, the driver does not unpack its own: coffer drops the copy and lets it
        Result listed = run(env, "backups", "--catalog", catalog);
        assertThat(listed.code).as(listed.err).isZero();
        assertThat(listed.out).contains("Demo VM", "complete");
        assertThat(lib).doesNotExist();

        Result again = run(env, "backups", "--catalog", catalog);
        assertThat(again.code).as(again.err).isZero();
        assertThat(Files.readAllBytes(lib)).isEqualTo(good); // unpacked afresh
        assertThat(again.err).doesNotContain("ERROR");
    }

    @Test
    void aDaemon_logsThroughLogback() throws Exception {
        Path token = Files.writeString(tmp.resolve("token"), "jar-test-token-0123456789abcdef\n");
        Process p = new ProcessBuilder(java(), "-verbose:class", "-jar", JAR.toString(), "target", "--listen",
                "127.0.0.1:0", "--root", Files.createDirectory(tmp.resolve("root")).toString(), "--token-file",
                token.toString()).redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            boolean logback = false;
            for (String line; (line = r.readLine()) != null; ) {
                logback |= line.contains("ch.qos.logback.classic.LoggerContext ");
                if (line.contains("listening")) {
                    break;
                }
            }
            assertThat(logback).as("logback started before the target listened").isTrue();
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private record Result(int code, String out, byte[] bytes, String err) {}

    /** Runs the jar; leading arguments that start with '-' go to the JVM. */
    private Result run(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java()));
        int i = 0;
        while (i < args.length && args[i].startsWith("-")) {
            cmd.add(args[i++]);
        }
        cmd.addAll(List.of("-jar", JAR.toString()));
        cmd.addAll(List.of(args).subList(i, args.length));
        Path out = tmp.resolve("out-" + System.nanoTime());
        Path err = tmp.resolve("err-" + System.nanoTime());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("COFFER_LOG_LEVEL");
        pb.environment().putAll(env);
        Process p = pb.start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("%s finished", cmd).isTrue();
        byte[] bytes = Files.readAllBytes(out);
        return new Result(p.exitValue(), new String(bytes, StandardCharsets.UTF_8), bytes,
                Files.readString(err, StandardCharsets.UTF_8));
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
