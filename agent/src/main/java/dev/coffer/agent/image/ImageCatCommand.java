package dev.coffer.agent.image;

import dev.coffer.agent.Causes;
import dev.coffer.agent.ExitCodes;
import dev.coffer.vmdk.AllocatedRange;
import dev.coffer.vmdk.VirtualDisk;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code coffer image cat DISK}: the whole virtual disk as raw bytes on standard output (or a file),
 * the same bytes {@code qemu-img convert -O raw} writes.
 *
 * <p>Uncompressed disks stream through {@link VirtualDisk#transferTo} (zero-copy from the extent
 * files to stdout). Compressed (streamOptimized) disks are inflated ahead in parallel by
 * {@code --threads} readers into pooled direct buffers and written in order through a
 * {@link FileChannel}; chunks the allocation map says hold no data are written from one shared zero
 * buffer without reading anything.
 */
@Command(mixinStandardHelpOptions = true, name = "cat", description = "Write the whole virtual disk as raw bytes to stdout (or -o FILE).")
final class ImageCatCommand implements Callable<Integer> {
    /** Chunk size: 4 MiB is a few grain tables' worth and keeps the in-flight memory at ~16-32 MiB. */
    static final int CHUNK = 4 << 20;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ImageCommand.DiskOptions disk;

    @Option(names = {"-o", "--output"}, description = "Write to FILE instead of stdout.")
    Path output;

    // why the core count: inflating streamOptimized grains is CPU-bound and scales with readers,
    // while sparse/flat reads are served from the page cache at memory speed (docs/perf/vmdk.md)
    @Option(names = "--threads", description = "Parallel readers (default: number of CPUs).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() throws Exception {
        if (output == null && System.console() != null) {
            throw new IOException("refusing to write a binary disk image to a terminal: redirect stdout or use -o FILE");
        }
        try (VirtualDisk d = disk.open()) {
            if (output != null) {
                try (FileChannel out = FileChannel.open(output, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING)) {
                    cat(d, out, threads, CHUNK);
                }
            } else {
                FileChannel out = new FileOutputStream(FileDescriptor.out).getChannel();
                cat(d, out, threads, CHUNK);
            }
        }
        return ExitCodes.OK;
    }

    /** One chunk read ahead; {@code pooled} buffers go back to the pool once written. */
    private record Chunk(ByteBuffer buf, boolean pooled) {}

    /**
     * Writes every byte of {@code d} to {@code out} in order. A disk without compressed grains goes
     * through {@link VirtualDisk#transferTo} (stored bytes move file-to-stdout inside the kernel, so
     * one thread is enough); a streamOptimized disk is inflated by {@code threads} readers up to
     * {@code 2 * threads} chunks ahead.
     */
    static void cat(VirtualDisk d, WritableByteChannel out, int threads, int chunk) throws IOException {
        if (d.chain().stream().noneMatch(dev.coffer.vmdk.Layer::compressed)) {
            d.transferTo(0, d.size(), out);
            return;
        }
        catParallel(d, out, threads, chunk);
    }

    /** Reads ahead in parallel into pooled direct buffers and writes them in order. */
    static void catParallel(VirtualDisk d, WritableByteChannel out, int threads, int chunk) throws IOException {
        int readers = Math.max(1, threads);
        int depth = readers * 2;
        long size = d.size();
        BlockingQueue<ByteBuffer> pool = new ArrayBlockingQueue<>(depth + 1);
        for (int i = 0; i < depth + 1; i++) {
            pool.add(ByteBuffer.allocateDirect(chunk));
        }
        ByteBuffer zeros = ByteBuffer.allocateDirect(chunk);
        ExecutorService exec = Executors.newFixedThreadPool(readers, r -> {
            Thread t = new Thread(r, "coffer-cat-reader");
            t.setDaemon(true);
            return t;
        });
        ArrayDeque<Future<Chunk>> window = new ArrayDeque<>();
        try {
            long next = 0;
            long written = 0;
            while (written < size) {
                while (next < size && window.size() < depth) {
                    long pos = next;
                    int len = (int) Math.min(chunk, size - pos);
                    window.add(exec.submit(() -> readChunk(d, pos, len, pool, zeros)));
                    next += len;
                }
                Chunk c = window.poll().get();
                ByteBuffer b = c.buf();
                while (b.hasRemaining()) {
                    out.write(b);
                }
                written += b.limit();
                if (c.pooled()) {
                    pool.add(b);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("cat interrupted");
        } catch (ExecutionException e) {
            throw Causes.io(e);
        } finally {
            exec.shutdownNow();
        }
    }

    private static Chunk readChunk(VirtualDisk d, long pos, int len, BlockingQueue<ByteBuffer> pool, ByteBuffer zeros)
            throws IOException, InterruptedException {
        List<AllocatedRange> map = d.allocation(pos, len);
        if (map.stream().noneMatch(r -> r.kind() == AllocatedRange.Kind.DATA)) {
            return new Chunk(zeros.duplicate().clear().limit(len), false);
        }
        ByteBuffer b = pool.take();
        b.clear().limit(len);
        d.read(pos, b);
        return new Chunk(b.flip(), true);
    }
}
