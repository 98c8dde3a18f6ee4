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
 * DedupBench wire STOREDIR BLOCKS     new 1 MiB blocks end to end over loopback, then a re-send
 * DedupBench codecs DISK.RAW          zstd-1/3 vs lz4 on the workload's 1 MiB blocks
 * DedupBench hash                     one-pass MD5+SHA-256 vs each alone, MB/s
 * </pre>
 */
public final class DedupBench {
    static final int MIB = 1 << 20;

    private DedupBench() {}

    public static void main(String[] args) throws Exception {
        switch (args.length > 0 ? args[0] : "") {
            case "wire" -> {
                Result r = wire(Path.of(args[1]), Integer.parseInt(args[2]), Runtime.getRuntime().availableProcessors());
                System.out.println(r);
            }
            case "codecs" -> codecs(Path.of(args[1]));
            case "hash" -> hash();
            default -> {
                System.err.println("usage: DedupBench wire STOREDIR BLOCKS | codecs DISK.RAW | hash");
                System.exit(2);
            }
        }
    }

    /** Figures of one wire run. */
    record Result(int blocks, double newMBps, long newWireBytes, double resendMBps, long resendWireBytes) {
        double resendWirePercent() {
            return 100.0 * resendWireBytes / ((double) blocks * MIB);
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "new blocks: %d x 1 MiB  end-to-end %.0f MB/s  wire %d bytes%n"
                    + "re-send:    %d x 1 MiB  end-to-end %.0f MB/s  wire %d bytes = %.4f%% of the data",
                    blocks, newMBps, newWireBytes, blocks, resendMBps, resendWireBytes, resendWirePercent());
        }
    }

    /** A fresh incompressible block: pool bytes stamped with (nonce, index) so every block is new. */
    static ByteBuffer block(byte[] pool, long nonce, int i) {
        byte[] b = new byte[MIB];
        System.arraycopy(pool, (i % 16) * 4096, b, 0, MIB); // shifted window: no two blocks alike
        ByteBuffer bb = ByteBuffer.wrap(b);
        bb.putLong(0, nonce).putInt(8, i);
        return bb;
    }

    /**
     * Uploads {@code blocks} new 1 MiB blocks to a destination server in this process over loopback the way
     * the agent does (hash MD5+SHA-256, has(), put the missing, commit), then does it again with the same data.
     */
    static Result wire(Path storeDir, int blocks, int threads) throws Exception {
        byte[] pool = TestBlocks.random(System.nanoTime(), MIB + 16 * 4096);
        long nonce = System.nanoTime();
        try (DestinationServer server = DestinationServer.start(ServerOptions.of(storeDir,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), ServerOptions.Auth.plaintextLoopback(null)))) {
            double[] mbps = new double[2];
            long[] wire = new long[2];
            for (int pass = 0; pass < 2; pass++) {
                try (RemoteDestination d = RemoteDestination.connect(ClientOptions.plaintextLoopback(server.address(), null))) {
                    ExecutorService workers = Executors.newFixedThreadPool(threads);
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
                                    ByteBuffer b = block(pool, nonce, i);
                                    bufs.add(b);
                                    ids.add(hasher.hash(b).sha256());
                                }
                                java.util.BitSet present = d.has(ids).join();
                                for (int k = 0; k < bufs.size(); k++) {
                                    if (!present.get(k)) {
                                        puts.add(d.put(ids.get(k), bufs.get(k)));
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
                    d.commitManifest("bench-" + nonce + "-" + pass, all).join();
                    long t1 = System.nanoTime();
                    workers.shutdown();
                    mbps[pass] = (double) blocks * MIB / ((t1 - t0) / 1e9) / 1e6;
                    wire[pass] = d.wireBytesSent();
                }
            }
            return new Result(blocks, mbps[0], wire[0], mbps[1], wire[1]);
        }
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

    /** One-pass MD5+SHA-256 against each digest alone, single thread and all cores. */
    static void hash() throws Exception {
        byte[] data = TestBlocks.random(1, 64 * MIB);
        List<ByteBuffer> blocks = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            blocks.add(ByteBuffer.wrap(data, i * MIB, MIB));
        }
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        java.security.MessageDigest md5 = java.security.MessageDigest.getInstance("MD5");
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
