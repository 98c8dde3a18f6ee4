package dev.coffer.agent.flr;

import static org.assertj.core.api.Assertions.assertThat;




import dev.coffer.agent.backup.Destinations;


import dev.coffer.agent.restore.ByteRange;
import dev.coffer.agent.restore.CommitResult;
import dev.coffer.agent.restore.ExistingPolicy;
import dev.coffer.agent.restore.HttpTargetClient;
import dev.coffer.agent.restore.RestoreException;
import dev.coffer.agent.restore.RestoreFile;
import dev.coffer.agent.restore.RestoreTarget;
import dev.coffer.agent.restore.Upload;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.VolumeInfo;
import dev.coffer.dedup.Destination;
import dev.coffer.testkit.Fixtures;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file restore from a real backup into a real {@code coffer target} child JVM that is killed with
 * SIGKILL mid-restore; the same restore run again against the restarted target skips the ranges
 * already verified and leaves every file byte-for-byte equal to The Sleuth Kit's {@code icat}.
 */
class FileRestoreKillTest {
    private static final Pattern LISTENING = Pattern.compile("listening on (.+):(\\d+)");
    private static final String TOKEN = "file-restore-kill-token-0123456789";

    @TempDir
    Path tmp;
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void killAll() throws Exception {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Starts {@code coffer target} as a child JVM and returns it once it says where it listens. */
    private Process launch(Path root, int port, Path tokenFile, int[] portOut) throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-cp",
                System.getProperty("java.class.path"), "dev.coffer.agent.Main", "target", "--listen", "127.0.0.1:" + port,
                "--root", root.toString(), "--token-file", tokenFile.toString());
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        started.add(p);
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        if (line == null) {
            throw new AssertionError("coffer target exited before listening, exit " + p.waitFor());
        }
        Matcher m = LISTENING.matcher(line);
        assertThat(m.matches()).as("first line: " + line).isTrue();
        portOut[0] = Integer.parseInt(m.group(2));
        return p;
    }

    @Test
    void killTargetMidRestore_rerunResumesAndEveryFileMatchesIcat() throws Exception {
        try (Catalog catalog = Catalog.open(tmp.resolve("c.db")); Destination dest = Destinations.embedded(tmp.resolve("s"))) {
            WinvmBackup b = WinvmBackup.of(catalog, dest);
            Path fx = b.fixture();
            VolumeInfo vol = b.ntfs();
            List<FileRestore.Item> items = new Selection(catalog, b.backupId(), vol.id(), ExistingPolicy.OVERWRITE)
                    .select("/", false, null);
            long total = items.stream().mapToLong(i -> i.file().size()).sum();
            long big = items.stream().filter(i -> i.file().size() >= 1 << 20).count();
            assertThat(big).as("files of at least 1 MiB").isGreaterThanOrEqualTo(2);
            assertThat(total).as("bytes selected").isGreaterThan(6L << 20);

            Path root = Files.createDirectory(tmp.resolve("root"));
            Path tokenFile = Files.writeString(tmp.resolve("token"), TOKEN + "\n");
            int[] port = new int[1];
            Process first = launch(root, 0, tokenFile, port);
            // few, quick retries: a dead target fails the first run in seconds, not the default ~25 s per request
            HttpTargetClient.Options quick = new HttpTargetClient.Options(3, Duration.ofMillis(20), Duration.ofMillis(100),
                    Duration.ofSeconds(30), Duration.ofSeconds(2), false);
            URI base = URI.create("http://127.0.0.1:" + port[0]);
            FileRestore.Options opts = FileRestore.Options.defaults();

            // first run: SIGKILL the target as soon as it holds the first chunk of a file of several, so
            // that file is partial (journaled, not committed) whatever the speed of the machine
            KillAfterFirstChunk killing = new KillAfterFirstChunk(new HttpTargetClient(base, TOKEN, quick), first);
            FileRestore firstRun = new FileRestore(dest, killing, opts);
            CompletableFuture<FileRestore.Report> running = CompletableFuture.supplyAsync(() -> {
                try {
                    return firstRun.run(items);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try {
                running.get(60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                // judged below
            }
            assertThat(killing.killed.get()).as("the target was killed mid-restore").isTrue();
            assertThat(first.isAlive()).isFalse();
            long doneAtKill = killing.bytesAtKill.get();
            assertThat(doneAtKill).as("bytes done when the target was killed").isPositive().isLessThan(total);
            FileRestore.Report broken = null;
            try {
                broken = running.get(0, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                assertThat(e.getCause()).as("the first run may only fail on I/O").isInstanceOf(java.io.UncheckedIOException.class);
            }
            if (broken != null) {
                assertThat(broken.failed()).as("files the killed target never committed").isPositive();
                assertThat(broken.bytesWritten()).isLessThan(total);
            }

            // second run: same root, port and token; the partial files and their journals are found again
            int[] again = new int[1];
            launch(root, port[0], tokenFile, again);
            assertThat(again[0]).isEqualTo(port[0]);
            FileRestore.Report rep = new FileRestore(dest, new HttpTargetClient(base, TOKEN, quick), opts).run(items);
            assertThat(rep.outcomes()).hasSize(items.size());
            assertThat(rep.outcomes()).allSatisfy(o -> assertThat(o.ok()).as(o.error()).isTrue());
            assertThat(rep.bytesSkipped()).as("bytes already verified at the target, not sent again").isPositive();
            assertThat(rep.bytesWritten()).isLessThan(total);
            assertThat(rep.bytesWritten() + rep.bytesSkipped()).isEqualTo(total);
            try (Stream<Path> left = Files.list(root.resolve(".coffer-restore/partial"))) {
                assertThat(left.map(Path::getFileName).map(Path::toString).toList()).as("partial files left").isEmpty();
            }

            // every restored file equals icat of its inode in the source disk
            long sector = vol.offsetBytes() / 512;
            Path raw = fx.resolve("disk.raw");
            Map<String, String> files = new LinkedHashMap<>();
            java.util.Set<String> streamOnly = new java.util.HashSet<>();
            String fls = Fixtures.run("fls", "-r", "-p", "-u", "-o", Long.toString(sector), raw.toString());
            for (String line : fls.lines().toList()) {
                int tab = line.indexOf('\t');
                String path = line.substring(tab + 1);
                if (line.startsWith("r/r ") && path.contains(":")) {
                    streamOnly.add(path.substring(0, path.indexOf(':')));
                } else if (line.startsWith("r/r ")) {
                    files.put(path, line.substring(4, tab).replace("*", "").replace(":", "").strip());
                }
            }
            // the selection is every file of the volume (NTFS metadata files included), each once
            List<String> restored = items.stream().map(i -> String.join("/", i.file().path())).toList();
            assertThat(restored).doesNotHaveDuplicates();
            streamOnly.removeAll(files.keySet());
            for (FileRestore.Item i : items) {
                String path = String.join("/", i.file().path());
                if (!files.containsKey(path)) {
                    // only named streams (e.g. $Secure, $Extend/$Quota): restored as an empty file
                    assertThat(streamOnly).as(path).contains(path);
                    assertThat(i.file().size()).as(path).isZero();
                    assertThat(root.resolve(path)).as(path).isEmptyFile();
                }
            }
            restored = restored.stream().filter(files::containsKey).toList();
            assertThat(restored).contains("Documents/sparse.img", "Documents/Reports/data.bin", "Users/alice/Pictures/photo.jpg");
            assertThat(files.keySet().stream().filter(k -> !k.startsWith("$"))).hasSizeGreaterThan(30).allMatch(restored::contains);
            for (String path : restored) {
                Path f = root.resolve(path);
                assertThat(f).as(path).isRegularFile();
                String icat = Fixtures.run("bash", "-c", "icat -o " + sector + " '" + raw + "' " + files.get(path) + " | md5sum")
                        .split(" ")[0];
                assertThat(Fixtures.md5(f)).as(path).isEqualTo(icat);
            }
            System.out.printf("killed at %d of %d bytes; rerun wrote %d, skipped %d, in %d ms%n", doneAtKill, total,
                    rep.bytesWritten(), rep.bytesSkipped(), rep.elapsed().toMillis());
        }
    }

    /**
     * A target that kills the real one (SIGKILL) right after the first chunk of a file of several
     * chunks is acknowledged: that file then has verified bytes at the target and no commit.
     */
    private static final class KillAfterFirstChunk implements RestoreTarget {
        private final RestoreTarget delegate;
        private final Process target;
        final AtomicBoolean killed = new AtomicBoolean();
        final AtomicLong bytesAtKill = new AtomicLong();
        private final AtomicLong bytesWritten = new AtomicLong();

        KillAfterFirstChunk(RestoreTarget delegate, Process target) {
            this.delegate = delegate;
            this.target = target;
        }

        @Override
        public Upload begin(RestoreFile file) throws RestoreException {
            return delegate.begin(file);
        }

        @Override
        public void write(Upload upload, long offset, ByteBuffer data) throws RestoreException {
            int n = data.remaining();
            delegate.write(upload, offset, data);
            long done = bytesWritten.addAndGet(n);
            if (offset == 0 && upload.file().size() > n && killed.compareAndSet(false, true)) {
                bytesAtKill.set(done);
                target.destroyForcibly();
                try {
                    target.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public CommitResult commit(Upload upload) throws RestoreException {
            return delegate.commit(upload);
        }

        @Override
        public void abort(Upload upload) throws RestoreException {
            delegate.abort(upload);
        }

        @Override
        public List<ByteRange> status(RestoreFile file) throws RestoreException {
            return delegate.status(file);
        }

        @Override
        public void close() throws java.io.IOException {
            delegate.close();
        }
    }
}
