package dev.coffer.agent.restore;

import io.netty.util.ResourceLeakDetector;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * Throughput of the restore targets: N upload workers take 1 MiB chunks of a tree of files from a
 * bounded queue (as the FLR pipeline's upload stage does) and write them through a
 * {@link DirectoryTarget} in this JVM, or through {@link HttpTargetClient} to a {@code coffer target}
 * child process over loopback; then every file is committed (hash check, fsync, rename). Reports
 * MB/s (10^6 bytes per second) from the first begin to the last commit. Run by
 * {@code scripts/bench-restore-target}; {@link RestoreTargetThroughputTest} runs it small in CI.
 *
 * <p>Files are checked by their block-tree hash over 1 MiB blocks, as the FLR pipeline sends them.
 * File contents are composed from a pool of random 1 MiB chunks prepared (and the files'
 * SHA-256 computed) before the clock starts, so the figure is the target's, not a data generator's.
 */
public final class RestoreTargetBench {
    /** One measured run. */
    record Result(String mode, long bytes, int files, int threads, double seconds, double clientCpuSeconds,
            double serverCpuSeconds) {
        double mbPerSecond() {
            return bytes / seconds / 1e6;
        }
    }

    private static final int POOL_CHUNKS = 61; // prime, so files do not share chunk sequences

    private final byte[][] pool;
    private final long[] sizes;
    private final byte[][] shas;

    RestoreTargetBench(long totalBytes, int files, long seed) throws Exception {
        Random rnd = new Random(seed);
        pool = new byte[POOL_CHUNKS][];
        for (int i = 0; i < POOL_CHUNKS; i++) {
            pool[i] = TestData.random(rnd, TestData.CHUNK);
        }
        sizes = new long[files];
        shas = new byte[files][];
        long per = totalBytes / files;
        for (int i = 0; i < files; i++) {
            sizes[i] = i == files - 1 ? totalBytes - per * (files - 1) : per - rnd.nextInt(TestData.CHUNK); // last chunk shorter
            // the block-tree hash over 1 MiB blocks, as the FLR pipeline sends it (blocks = chunks here)
            MessageDigest outer = MessageDigest.getInstance("SHA-256");
            for (long off = 0; off < sizes[i]; off += TestData.CHUNK) {
                outer.update(MessageDigest.getInstance("SHA-256").digest(Arrays.copyOfRange(pool[poolIndex(i, off)], 0,
                        (int) Math.min(TestData.CHUNK, sizes[i] - off))));
            }
            shas[i] = outer.digest();
        }
    }

    long totalBytes() {
        return Arrays.stream(sizes).sum();
    }

    ByteBuffer chunk(int file, long offset) {
        int len = (int) Math.min(TestData.CHUNK, sizes[file] - offset);
        return ByteBuffer.wrap(pool[poolIndex(file, offset)], 0, len);
    }

    private static int poolIndex(int file, long offset) {
        return (int) ((file * 7 + offset / TestData.CHUNK) % POOL_CHUNKS);
    }

    RestoreFile file(String run, int i) {
        return new RestoreFile(List.of(run, "file" + i + ".bin"), null, sizes[i], shas[i], TestData.CHUNK, TestData.times(), 0x20, null,
                ExistingPolicy.OVERWRITE);
    }

    /** Restores the whole tree through {@code target} with {@code threads} upload workers; returns seconds. */
    double run(RestoreTarget target, int threads, String run) throws Exception {
        record Job(int file, long offset) {}
        Job poison = new Job(-1, -1);
        BlockingQueue<Job> queue = new ArrayBlockingQueue<>(64);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long t0 = System.nanoTime();
        List<Upload> uploads = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            uploads.add(target.begin(file(run, i)));
        }
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < threads; w++) {
            Thread t = new Thread(() -> {
                try {
                    for (Job j = queue.take(); j != poison; j = queue.take()) {
                        if (failure.get() == null) {
                            target.write(uploads.get(j.file()), j.offset(), chunk(j.file(), j.offset()));
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "bench-upload-" + w);
            t.start();
            workers.add(t);
        }
        // the chunker: files in turn, chunks in order, like the pipeline's chunker
        for (int i = 0; i < sizes.length; i++) {
            for (long off = 0; off < sizes[i]; off += TestData.CHUNK) {
                queue.put(new Job(i, off));
            }
        }
        for (int w = 0; w < threads; w++) {
            queue.put(poison);
        }
        for (Thread t : workers) {
            t.join();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("upload failed", failure.get());
        }
        for (Upload u : uploads) {
            target.commit(u);
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    static void deleteTree(Path p) throws Exception {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }

    /**
     * Measures {@code runs} restores in {@code mode} ("dir" or "http") into {@code root}, each into
     * its own directory {@code runN} (all but the last deleted afterwards). One target (and, for
     * http, one {@code coffer target} process) serves all runs, after an unmeasured warm-up run
     * when asked, as a long-running target would.
     */
    List<Result> measure(String mode, Path root, int threads, int runs, boolean warmup) throws Exception {
        deleteTree(root);
        Files.createDirectories(root);
        if (mode.equals("dir")) {
            try (DirectoryTarget t = DirectoryTarget.open(root, DirectoryTarget.Options.defaults())) {
                return runs(mode, t, null, root, threads, runs, warmup);
            }
        }
        String token = "bench-token-" + System.nanoTime();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
                "-Dio.netty.leakDetection.level=disabled"));
        // the compiler options the launcher gives `coffer target` (scripts/jvm-profile.sh, via bench-restore-target)
        String targetJit = System.getProperty("bench.targetJvmOpts", "");
        if (!targetJit.isBlank()) {
            cmd.addAll(List.of(targetJit.trim().split("\\s+")));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
                "dev.coffer.agent.Main", "target", "--listen", "127.0.0.1:0", "--root", root.toString(), "--token", token));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
            if (line == null || !line.startsWith("listening on ")) {
                throw new IllegalStateException("coffer target did not start: " + line);
            }
            URI base = URI.create("http://" + line.substring("listening on ".length()));
            HttpTargetClient c = new HttpTargetClient(base, token, HttpTargetClient.Options.defaults());
            return runs(mode, c, p, root, threads, runs, warmup);
        } finally {
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    private List<Result> runs(String mode, RestoreTarget t, Process server, Path root, int threads, int runs, boolean warmup)
            throws Exception {
        if (warmup) {
            run(t, threads, "warmup");
            deleteTree(root.resolve("warmup"));
        }
        List<Result> out = new ArrayList<>();
        for (int r = 1; r <= runs; r++) {
            long cpu0 = processCpuNanos();
            long server0 = serverCpuNanos(server);
            double secs = run(t, threads, "run" + r);
            out.add(new Result(mode, totalBytes(), sizes.length, threads, secs, (processCpuNanos() - cpu0) / 1e9,
                    (serverCpuNanos(server) - server0) / 1e9));
            if (r < runs) {
                deleteTree(root.resolve("run" + r));
            }
        }
        return out;
    }

    private static long serverCpuNanos(Process p) {
        return p == null ? 0 : p.toHandle().info().totalCpuDuration().map(d -> d.toNanos()).orElse(0L);
    }

    /**
     * {@code RestoreTargetBench [--bytes N[MG]] [--files F] [--threads T] [--runs R] [--mode dir,http] [--dir D]}:
     * prints one line per run and the median per mode.
     */
    public static void main(String[] args) throws Exception {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        long bytes = 1L << 30;
        int files = 8;
        int threads = 4;
        int runs = 3;
        List<String> modes = List.of("dir", "http");
        Path dir = Path.of("target", "bench", "restore-target");
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--bytes" -> bytes = parseSize(v);
                case "--files" -> files = Integer.parseInt(v);
                case "--threads" -> threads = Integer.parseInt(v);
                case "--runs" -> runs = Integer.parseInt(v);
                case "--mode" -> modes = List.of(v.split(","));
                case "--dir" -> dir = Path.of(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        RestoreTargetBench b = new RestoreTargetBench(bytes, files, 1);
        System.out.printf("restore-target bench: %d bytes in %d files, %d upload workers, %d runs, root %s, %d cores%n",
                b.totalBytes(), files, threads, runs, dir.toAbsolutePath(), Runtime.getRuntime().availableProcessors());
        for (String mode : modes) {
            List<Result> results = b.measure(mode, dir, threads, runs, true);
            double[] mbs = new double[runs];
            for (int r = 0; r < runs; r++) {
                Result res = results.get(r);
                mbs[r] = res.mbPerSecond();
                System.out.printf("%-4s run %d: %.2f s, %.0f MB/s (cpu: bench process %.2f s, target process %.2f s)%n",
                        mode, r + 1, res.seconds(), res.mbPerSecond(), res.clientCpuSeconds(), res.serverCpuSeconds());
            }
            Arrays.sort(mbs);
            System.out.printf("%-4s median: %.0f MB/s (min %.0f, max %.0f)%n", mode, mbs[runs / 2], mbs[0], mbs[runs - 1]);
        }
        deleteTree(dir);
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    static long parseSize(String s) {
        char unit = Character.toUpperCase(s.charAt(s.length() - 1));
        long mult = unit == 'G' ? 1L << 30 : unit == 'M' ? 1L << 20 : 1;
        return Long.parseLong(mult == 1 ? s : s.substring(0, s.length() - 1)) * mult;
    }
}
