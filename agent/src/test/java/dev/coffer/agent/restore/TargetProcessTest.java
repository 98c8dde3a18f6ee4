package dev.coffer.agent.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code coffer target} as a real child JVM: killed with SIGKILL mid-restore, restarted, resumed. */
class TargetProcessTest {
    private static final Pattern LISTENING = Pattern.compile("listening on (.+):(\\d+)");
    static final String TOKEN = "process-test-token-0123456789";

    @TempDir
    Path tmp;
    private final List<Process> started = new ArrayList<>();

    /** A running child target and the port it reported. */
    record Child(Process process, int port) {}

    static Child launch(List<Process> registry, Path root, int port, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), "dev.coffer.agent.Main", "target",
                "--listen", "127.0.0.1:" + port, "--root", root.toString()));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        registry.add(p);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        if (line == null) {
            throw new AssertionError("coffer target exited before listening, exit " + p.waitFor());
        }
        Matcher m = LISTENING.matcher(line);
        assertThat(m.matches()).as("first line: " + line).isTrue();
        return new Child(p, Integer.parseInt(m.group(2)));
    }

    @AfterEach
    void killAll() throws Exception {
        for (Process p : started) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void killMidRestore_restartAndResume_sendsOnlyMissingRanges() throws Exception {
        Path root = Files.createDirectory(tmp.resolve("root"));
        Path tokenFile = Files.writeString(tmp.resolve("token"), TOKEN + "\n");
        Child first = launch(started, root, 0, "--token-file", tokenFile.toString());
        URI base = URI.create("http://127.0.0.1:" + first.port());
        HttpTargetClient client = new HttpTargetClient(base, TOKEN, new HttpTargetClient.Options(3, Duration.ofMillis(20),
                Duration.ofMillis(100), Duration.ofSeconds(30), Duration.ofSeconds(2), false));

        Random rnd = new Random(21);
        int files = 3;
        List<byte[]> contents = new ArrayList<>();
        List<RestoreFile> rf = new ArrayList<>();
        List<Upload> uploads = new ArrayList<>();
        for (int i = 0; i < files; i++) {
            byte[] c = TestData.random(rnd, 12 * TestData.CHUNK + rnd.nextInt(TestData.CHUNK));
            contents.add(c);
            RestoreFile f = TestData.file(List.of("vm", "file" + i + ".vhdx"), c, ExistingPolicy.OVERWRITE);
            rf.add(f);
            uploads.add(client.begin(f));
        }
        // four workers write chunks in random order; the target is killed while they are busy
        record Job(int file, long offset) {}
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < files; i++) {
            for (long off : TestData.shuffledOffsets(rnd, contents.get(i).length)) {
                jobs.add(new Job(i, off));
            }
        }
        java.util.Collections.shuffle(jobs, rnd);
        List<List<ByteRange>> acked = new ArrayList<>();
        for (int i = 0; i < files; i++) {
            acked.add(java.util.Collections.synchronizedList(new ArrayList<>()));
        }
        AtomicInteger done = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> fs = new ArrayList<>();
        for (Job j : jobs) {
            fs.add(pool.submit(() -> {
                ByteBufferHolder h = new ByteBufferHolder(TestData.chunk(contents.get(j.file()), j.offset()));
                try {
                    client.write(uploads.get(j.file()), j.offset(), h.buffer);
                    acked.get(j.file()).add(new ByteRange(j.offset(), h.length));
                    done.incrementAndGet();
                } catch (RestoreException e) {
                    assertThat(e.code()).isEqualTo(RestoreException.Code.UNAVAILABLE);
                    failed.incrementAndGet();
                }
            }));
        }
        while (done.get() < jobs.size() / 2) {
            Thread.sleep(5);
        }
        first.process().destroyForcibly();
        assertThat(first.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        for (Future<?> f : fs) {
            f.get();
        }
        pool.shutdown();
        assertThat(failed.get()).as("writes after the kill are retried, then reported").isPositive();
        assertThat(root.resolve("vm/file0.vhdx")).doesNotExist();

        // restart on the same port, same root: the partial files and journals are found again
        Child second = launch(started, root, first.port(), "--token", TOKEN);
        assertThat(second.port()).isEqualTo(first.port());
        AtomicLong resent = new AtomicLong();
        long totalMissing = 0;
        for (int i = 0; i < files; i++) {
            Upload u = client.begin(rf.get(i));
            List<ByteRange> verified = u.verified();
            // everything acknowledged before the kill is verified (the page cache survives SIGKILL)
            for (ByteRange r : acked.get(i)) {
                assertThat(DirectoryTargetTest.covered(verified, r.offset())).as("acked chunk %d of file %d", r.offset(), i).isTrue();
            }
            long missing = contents.get(i).length - u.verifiedBytes();
            totalMissing += missing;
            for (long off = 0; off < contents.get(i).length; off += TestData.CHUNK) {
                if (!DirectoryTargetTest.covered(verified, off)) {
                    var chunk = TestData.chunk(contents.get(i), off);
                    resent.addAndGet(chunk.remaining());
                    client.write(u, off, chunk);
                }
            }
            assertThat(client.commit(u).outcome()).isEqualTo(CommitResult.Outcome.WRITTEN);
        }
        assertThat(resent.get()).as("only the missing ranges were re-sent").isEqualTo(totalMissing);
        long total = contents.stream().mapToLong(c -> c.length).sum();
        assertThat(resent.get()).isLessThan(total);
        for (int i = 0; i < files; i++) {
            assertThat(Files.readAllBytes(root.resolve("vm/file" + i + ".vhdx"))).isEqualTo(contents.get(i));
        }
    }

    private static final class ByteBufferHolder {
        final java.nio.ByteBuffer buffer;
        final int length;

        ByteBufferHolder(java.nio.ByteBuffer b) {
            buffer = b;
            length = b.remaining();
        }
    }

    @Test
    void cli_missingTokenOrBadListen_isUsageError() throws Exception {
        Path root = Files.createDirectory(tmp.resolve("r"));
        for (List<String> args : List.of(List.of("--listen", "127.0.0.1:0", "--root", root.toString()),
                List.of("--listen", "nonsense", "--root", root.toString(), "--token", "t"),
                List.of("--listen", "127.0.0.1:70000", "--root", root.toString(), "--token", "t"),
                List.of("--listen", "127.0.0.1:0", "--root", root.toString(), "--token", "t", "--token-file", "f"))) {
            java.io.StringWriter err = new java.io.StringWriter();
            List<String> all = new ArrayList<>(List.of("target"));
            all.addAll(args);
            int code = dev.coffer.agent.Main.run(all.toArray(String[]::new), new java.io.PrintWriter(new java.io.StringWriter()),
                    new java.io.PrintWriter(err, true));
            assertThat(code).as(args + ": " + err).isEqualTo(dev.coffer.agent.ExitCodes.USAGE);
            assertThat(err.toString()).startsWith("coffer: ");
        }
    }
}
