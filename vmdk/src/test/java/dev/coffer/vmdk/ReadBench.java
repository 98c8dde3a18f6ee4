package dev.coffer.vmdk;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Measures {@link VirtualDisk#read} throughput inside one JVM (no start-up cost): the whole disk is
 * read in 4 MiB chunks handed out to N threads, best of several passes. Run by scripts/bench-vmdk:
 * {@code java -cp vmdk/target/classes:vmdk/target/test-classes dev.coffer.vmdk.ReadBench DISK THREADS...}.
 * Not a test: a measuring tool kept beside the code it measures.
 */
public final class ReadBench {
    private static final int CHUNK = 4 << 20;

    private ReadBench() {}

    public static void main(String[] args) throws Exception {
        try (VirtualDisk disk = VirtualDisk.open(Path.of(args[0]))) {
            for (int i = 1; i < args.length; i++) {
                int threads = Integer.parseInt(args[i]);
                pass(disk, threads); // warm-up: JIT and page cache
                long best = Long.MAX_VALUE;
                for (int r = 0; r < 3; r++) {
                    best = Math.min(best, pass(disk, threads));
                }
                System.out.printf("threads=%d seconds=%.3f MiB/s=%.0f%n", threads, best / 1e9,
                        disk.size() / (1024.0 * 1024) / (best / 1e9));
            }
        }
    }

    private static long pass(VirtualDisk disk, int threads) throws Exception {
        AtomicLong next = new AtomicLong();
        List<Thread> ts = new ArrayList<>();
        List<Exception> errors = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                ByteBuffer b = ByteBuffer.allocateDirect(CHUNK);
                try {
                    for (long pos; (pos = next.getAndAdd(CHUNK)) < disk.size(); ) {
                        b.clear().limit((int) Math.min(CHUNK, disk.size() - pos));
                        disk.read(pos, b);
                    }
                } catch (Exception e) {
                    synchronized (errors) {
                        errors.add(e);
                    }
                }
            });
            th.start();
            ts.add(th);
        }
        for (Thread th : ts) {
            th.join();
        }
        if (!errors.isEmpty()) {
            throw errors.get(0);
        }
        return System.nanoTime() - t0;
    }
}
