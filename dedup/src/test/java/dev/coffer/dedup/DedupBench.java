package dev.coffer.dedup;

import com.github.luben.zstd.Zstd;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;

/**
 * The dedup benchmark (scripts/bench-dedup; figures in docs/perf/dedup.md).
 *
 * <pre>
 * DedupBench wire STOREDIR BLOCKS [WARMUP]   new 1 MiB blocks end to end over loopback, then a re-send
 * DedupBench local STOREDIR BLOCKS [WARMUP]  the same into the embedded store (LocalDestination)
 * DedupBench codecs DISK.RAW          zstd-1/3 vs lz4 on the workload's 1 MiB blocks
 * DedupBench hash                     one-pass MD5+SHA-256 vs each alone, MB/s
 * </pre>
 */
public final class DedupBench {
    static final int MIB = 1 << 20;

    private DedupBench() {}

    public static void main(String[] args) throws Exception {
        switch (args.length > 0 ? args[0] : "") {
            case "wire", "local" -> {
                Path dir = Path.of(args[1]);
                int blocks = Integer.parseInt(args[2]);
                int warmup = args.length > 3 ? Integer.parseInt(args[3]) : 0;
                int threads = Runtime.getRuntime().availableProcessors();
                System.out.println(args[0].equals("wire") ? wire(dir, blocks, threads, warmup) : local(dir, blocks, threads, warmup));
            }
            case "codecs" -> codecs(Path.of(args[1]));
            case "hash" -> hash();
            default -> {
                System.err.println("usage: DedupBench wire|local STOREDIR BLOCKS [WARMUP] | codecs DISK.RAW | hash");
                System.exit(2);
            }
        }
    }

    /**
     * Figures of one run.
     *
     * @param coldMBps the warm-up pass (a JVM that has not yet compiled the hot paths), or 0 without one
     * @param newCpuMsPerMiB CPU time of the whole process (all threads, JIT and GC included) per new MiB
     */
    record Result(String mode, int blocks, double coldMBps, double newMBps, long newWireBytes, double resendMBps,
            long resendWireBytes, double newCpuMsPerMiB) {
        double resendWirePercent() {
            return 100.0 * resendWireBytes / ((double) blocks * MIB);
        }

        @Override
        public String toString() {
            boolean wire = mode.equals("wire");
            return String.format(Locale.ROOT, "%s%s new blocks: %d x 1 MiB  end-to-end %.0f MB/s%s  cpu %.2f ms/MiB%n"
                    + "%s re-send:    %d x 1 MiB  end-to-end %.0f MB/s%s",
                    coldMBps > 0 ? String.format(Locale.ROOT, "%s warm-up (cold JVM): %.0f MB/s%n", mode, coldMBps) : "",
                    mode, blocks, newMBps, wire ? "  wire " + newWireBytes + " bytes" : "", newCpuMsPerMiB,
                    mode, blocks, resendMBps, wire ? String.format(Locale.ROOT, "  wire %d bytes = %.4f%% of the data",
                            resendWireBytes, resendWirePercent()) : "");
        }
    }

    /** A fresh incompressible block: pool bytes stamped with (nonce, index) so every block is new. */
    static ByteBuffer block(byte[] pool, long nonce, int i, java.util.Queue<ByteBuffer> buffers) {
        ByteBuffer bb = buffers.poll();
        bb = bb != null ? bb.clear() : ByteBuffer.allocateDirect(MIB);
        bb.put(pool, (i % 16) * 4096, MIB).flip(); // shifted window: no two blocks alike
        bb.putLong(0, nonce).putInt(8, i);
        return bb;
    }

    /** Wall and CPU time of one pass. */
    record Pass(double seconds, long cpuNanos) {
        double mbps(int blocks) {
            return (double) blocks * MIB / seconds / 1e6;
        }
    }

    /**
     * One backup-like pass the way the agent does it: {@code threads} workers make blocks (a copy each, as the
     * backup's reader does), hash them (MD5+SHA-256, one pass), ask {@code has()} in batches of 64, {@code put()}
     * the missing, and at the end the manifest is committed. Timed from the first block to the commit.
     */
    static Pass upload(Destination d, byte[] pool, long nonce, int blocks, int threads, String backupId) throws Exception {
        ExecutorService workers = Executors.newFixedThreadPool(threads);
        // reused direct buffers, as the backup engine's readers and its dedup stage hold blocks
        java.util.concurrent.ConcurrentLinkedQueue<ByteBuffer> buffers = new java.util.concurrent.ConcurrentLinkedQueue<>();
        try {
            long c0 = processCpuNanos();
            long t0 = System.nanoTime();
            List<Future<List<byte[]>>> parts = new ArrayList<>();
            int batch = 64; // blocks per has() query, as the backup engine batches
            for (int w = 0; w < threads; w++) {
                int worker = w;
                parts.add(workers.submit(() -> {
                    List<byte[]> shas = new ArrayList<>();
                    List<CompletableFuture<PutResult>> puts = new ArrayList<>();
                    BlockHasher hasher = BlockHasher.forThread();
                    for (int from = worker * batch; from < blocks; from += threads * batch) {
                        List<ByteBuffer> bufs = new ArrayList<>();
                        List<byte[]> ids = new ArrayList<>();
                        for (int i = from; i < Math.min(blocks, from + batch); i++) {
                            ByteBuffer b = block(pool, nonce, i, buffers);
                            bufs.add(b);
                            ids.add(hasher.hash(b).sha256());
                        }
                        java.util.BitSet present = d.has(ids).join();
                        for (int k = 0; k < bufs.size(); k++) {
                            ByteBuffer b = bufs.get(k);
                            if (!present.get(k)) {
                                puts.add(d.put(ids.get(k), b).whenComplete((r, e) -> buffers.offer(b)));
                            } else {
                                buffers.offer(b);
                            }
                        }
                        shas.addAll(ids);
                    }
                    CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).join();
                    return shas;
                }));
            }
            List<byte[]> all = new ArrayList<>();
            for (Future<List<byte[]>> f : parts) {
                all.addAll(f.get());
            }
            d.commitManifest(backupId, all).join();
            long t1 = System.nanoTime();
            return new Pass((t1 - t0) / 1e9, processCpuNanos() - c0);
        } finally {
            workers.shutdown();
        }
    }

    /**
     * Uploads {@code blocks} new 1 MiB blocks to a destination server in this process over loopback the way
     * the agent does, then does it again with the same data (a re-send). With {@code warmup > 0}, first uploads
     * that many other new blocks untimed-for-the-result (reported as the cold figure): the server and the agent
     * are long-lived processes whose hot paths are compiled after their first seconds.
     */
    static Result wire(Path storeDir, int blocks, int threads, int warmup) throws Exception {
        byte[] pool = TestBlocks.random(System.nanoTime(), MIB + 16 * 4096);
        long nonce = System.nanoTime();
        try (DestinationServer server = DestinationServer.start(ServerOptions.of(storeDir,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), ServerOptions.Auth.plaintextLoopback(null)))) {
            ClientOptions co = ClientOptions.plaintextLoopback(server.address(), null);
            double cold = 0;
            if (warmup > 0) {
                try (RemoteDestination d = RemoteDestination.connect(co)) {
                    cold = upload(d, pool, nonce + 1, warmup, threads, "bench-" + nonce + "-warmup").mbps(warmup);
                }
            }
            Pass[] p = new Pass[2];
            long[] wire = new long[2];
            for (int pass = 0; pass < 2; pass++) {
                try (RemoteDestination d = RemoteDestination.connect(co)) {
                    var ticks = threadTicks();
                    p[pass] = upload(d, pool, nonce, blocks, threads, "bench-" + nonce + "-" + pass);
                    wire[pass] = d.wireBytesSent();
                    if (pass == 0 && Boolean.getBoolean("bench.threads")) {
                        printThreadCpu(ticks, threadTicks(), blocks);
                    }
                }
            }
            return new Result("wire", blocks, cold, p[0].mbps(blocks), wire[0], p[1].mbps(blocks), wire[1],
                    p[0].cpuNanos() / 1e6 / blocks);
        }
    }

    /** {@link #wire} without a default warm-up (CI). */
    static Result wire(Path storeDir, int blocks, int threads) throws Exception {
        return wire(storeDir, blocks, threads, 0);
    }

    /**
     * The same passes into the embedded store ({@link LocalDestination}, {@code coffer backup --destination DIR}):
     * hash, has(), put (probe, compress or raw, store), commit; then the re-send.
     */
    static Result local(Path storeDir, int blocks, int threads, int warmup) throws Exception {
        byte[] pool = TestBlocks.random(System.nanoTime(), MIB + 16 * 4096);
        long nonce = System.nanoTime();
        try (LocalDestination d = LocalDestination.open(storeDir)) {
            double cold = 0;
            if (warmup > 0) {
                cold = upload(d, pool, nonce + 1, warmup, threads, "bench-" + nonce + "-warmup").mbps(warmup);
            }
            var ticks = threadTicks();
            Pass first = upload(d, pool, nonce, blocks, threads, "bench-" + nonce + "-0");
            if (Boolean.getBoolean("bench.threads")) {
                printThreadCpu(ticks, threadTicks(), blocks);
            }
            Pass again = upload(d, pool, nonce, blocks, threads, "bench-" + nonce + "-1");
            return new Result("local", blocks, cold, first.mbps(blocks), 0, again.mbps(blocks), 0,
                    first.cpuNanos() / 1e6 / blocks);
        }
    }

    /** CPU ticks per thread name (digits folded) from /proc/self/task: where a pass spends its CPU (Linux only). */
    static java.util.Map<String, Long> threadTicks() {
        java.util.Map<String, Long> out = new java.util.TreeMap<>();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("[0-9]+", "N");
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    out.merge(name, Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum);
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            return out;
        }
        return out;
    }

    /** Prints the CPU each thread group used between two {@link #threadTicks()} snapshots, ms per MiB. */
    static void printThreadCpu(java.util.Map<String, Long> before, java.util.Map<String, Long> after, int blocks) {
        java.util.List<java.util.Map.Entry<String, Long>> d = new ArrayList<>();
        for (var e : after.entrySet()) {
            d.add(java.util.Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0L)));
        }
        d.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
        for (var e : d) {
            if (e.getValue() > 0) {
                System.out.printf(Locale.ROOT, "  cpu %-20s %6.2f ms/MiB%n", e.getKey(), e.getValue() * 10.0 / blocks);
            }
        }
    }

    /** CPU time of this whole process (every thread, JIT and GC included), nanoseconds. */
    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** Compression of the workload's non-zero 1 MiB blocks, split by the LZ4 probe's verdict. */
    static void codecs(Path disk) throws IOException {
        List<byte[]> compressible = new ArrayList<>();
        List<byte[]> incompressible = new ArrayList<>();
        BlockCodecs probe = new BlockCodecs(Codec.LZ4, 1);
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ)) {
            long size = ch.size();
            for (long off = 0; off + MIB <= size && compressible.size() + incompressible.size() < 1200; off += MIB) {
                ByteBuffer b = ByteBuffer.allocate(MIB);
                BlockStore.readFully(ch, b, off, disk.toString());
                byte[] a = b.array();
                if (isZero(a)) {
                    continue;
                }
                (probe.encode(ByteBuffer.wrap(a)).codec() == Codec.RAW ? incompressible : compressible).add(a);
            }
        }
        System.out.printf(Locale.ROOT, "non-zero 1 MiB blocks: %d compressible (probe), %d incompressible%n",
                compressible.size(), incompressible.size());
        for (var set : List.of(compressible, incompressible)) {
            String name = set == compressible ? "compressible" : "incompressible";
            if (set.isEmpty()) {
                continue;
            }
            for (String codec : List.of("lz4", "zstd-1", "zstd-3", "probe+zstd-1")) {
                for (int rep = 0; rep < 2; rep++) { // first round warms up the JIT
                    long in = 0;
                    long out = 0;
                    long t0 = System.nanoTime();
                    for (byte[] a : set) {
                        in += a.length;
                        out += compressedSize(codec, a);
                    }
                    double s = (System.nanoTime() - t0) / 1e9;
                    if (rep == 1) {
                        System.out.printf(Locale.ROOT, "%-15s %-13s %7.0f MB/s  stored/raw %.3f%n", name, codec, in / s / 1e6,
                                (double) out / in);
                    }
                }
            }
        }
    }

    private static final LZ4Compressor LZ4 = LZ4Factory.fastestInstance().fastCompressor();

    private static long compressedSize(String codec, byte[] a) {
        return switch (codec) {
            case "lz4" -> Math.min(a.length, LZ4.compress(a).length);
            case "zstd-1" -> Math.min(a.length, Zstd.compress(a, 1).length);
            case "zstd-3" -> Math.min(a.length, Zstd.compress(a, 3).length);
            default -> BlockCodecs.defaults().encode(ByteBuffer.wrap(a)).length();
        };
    }

    private static boolean isZero(byte[] a) {
        for (byte x : a) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** One-pass MD5+SHA-256 against each digest alone, single thread and all cores (Coffer's digests). */
    static void hash() throws Exception {
        byte[] data = TestBlocks.random(1, 64 * MIB);
        List<ByteBuffer> blocks = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            blocks.add(ByteBuffer.wrap(data, i * MIB, MIB));
        }
        // the digests Coffer hashes with (Digests: libcrypto where it loads, else the JDK's)
        Digests.Digest sha = Digests.sha256();
        Digests.Digest md5 = Digests.md5();
        System.out.println("digests: " + (Digests.nativeDigests() ? "libcrypto (OpenSSL)" : "the JDK's"));
        for (int rep = 0; rep < 3; rep++) {
            long t0 = System.nanoTime();
            for (ByteBuffer b : blocks) {
                sha.update(b.duplicate());
                sha.digest();
            }
            long t1 = System.nanoTime();
            for (ByteBuffer b : blocks) {
                md5.update(b.duplicate());
                md5.digest();
            }
            long t2 = System.nanoTime();
            BlockHasher h = new BlockHasher();
            for (ByteBuffer b : blocks) {
                h.hash(b);
            }
            long t3 = System.nanoTime();
            ExecutorService pool = Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors());
            BlockHasher.hashAll(blocks, pool).join();
            long t4 = System.nanoTime();
            pool.shutdown();
            double mb = 64.0 * MIB / 1e6;
            System.out.printf(Locale.ROOT, "sha256 %.0f MB/s  md5 %.0f MB/s  one-pass both %.0f MB/s  parallel both (%d threads) %.0f MB/s%n",
                    mb / ((t1 - t0) / 1e9), mb / ((t2 - t1) / 1e9), mb / ((t3 - t2) / 1e9),
                    Runtime.getRuntime().availableProcessors(), mb / ((t4 - t3) / 1e9));
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (Files.exists(p)) {
            try (var s = Files.walk(p)) {
                for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(x);
                }
            }
        }
    }
}
