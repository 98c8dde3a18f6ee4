package dev.coffer.agent.load;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.testkit.Fixtures;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** IoPriority, PageCache and NativeFile against the kernel, checked with util-linux tools. */
class NativeTest {
    @TempDir
    Path tmp;

    private static long residentBytes(Path file) {
        return Long.parseLong(Fixtures.run("fincore", "--bytes", "--noheadings", "--raw", "-o", "RES",
                file.toString()).strip());
    }

    private Path randomFile(String name, int mib) throws Exception {
        Path file = tmp.resolve(name);
        byte[] block = new byte[1 << 20];
        Random r = new Random(name.hashCode());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int i = 0; i < mib; i++) {
                r.nextBytes(block);
                ch.write(ByteBuffer.wrap(block));
            }
            ch.force(true); // DONTNEED leaves dirty pages alone
        }
        return file;
    }

    @Test
    void ioPriority_idleIsSetForTheCallingThreadOnly() throws Exception {
        IoPriority.Value mine = IoPriority.ofCurrentThread();
        AtomicReference<Object> result = new AtomicReference<>();
        AtomicReference<Integer> tid = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                IoPriority.setIdleForCurrentThread();
                tid.set(IoPriority.currentThreadId());
                result.set(IoPriority.ofCurrentThread());
                // ionice reads it back independently while the thread is alive
                result.set(new Object[] {result.get(), Fixtures.run("ionice", "-p", String.valueOf(tid.get())).strip()});
            } catch (Exception e) {
                result.set(e);
            }
        });
        t.start();
        t.join(30_000);
        assertThat(result.get()).isInstanceOf(Object[].class);
        Object[] r = (Object[]) result.get();
        assertThat(r[0]).isEqualTo(new IoPriority.Value(IoPriority.CLASS_IDLE, 0));
        assertThat(r[1]).isEqualTo("idle");
        assertThat(tid.get()).isNotEqualTo(IoPriority.currentThreadId());
        assertThat(IoPriority.ofCurrentThread()).isEqualTo(mine);
        assertThat(mine.ioClass()).isNotEqualTo(IoPriority.CLASS_IDLE);
    }

    @Test
    void ioPriority_encoding() {
        assertThat(new IoPriority.Value(IoPriority.CLASS_IDLE, 0).encode()).isEqualTo(0x6000);
        assertThat(new IoPriority.Value(IoPriority.CLASS_BEST_EFFORT, 4).encode()).isEqualTo(0x4004);
        assertThat(IoPriority.Value.decode(0x4004)).isEqualTo(new IoPriority.Value(2, 4));
    }

    @Test
    void dropBehind_evictsExactlyTheRangeFromThePageCache() throws Exception {
        Path file = randomFile("cache.bin", 16);
        byte[] expected = Files.readAllBytes(file); // now fully cached
        assertThat(residentBytes(file)).isEqualTo(16L << 20);
        try (NativeFile f = NativeFile.open(file)) {
            f.dropBehind(0, 8L << 20);
            assertThat(residentBytes(file)).isEqualTo(8L << 20);
            f.dropBehind(0, 0);
            assertThat(residentBytes(file)).isZero();
            // read it back through pread: the bytes are right and the pages come back
            ByteBuffer buf = ByteBuffer.allocateDirect(3 << 20);
            byte[] got = new byte[expected.length];
            long pos = 0;
            for (int n; (n = f.read(buf.clear(), pos)) > 0; ) {
                buf.flip().get(got, (int) pos, n);
                pos += n;
            }
            assertThat(pos).isEqualTo(expected.length);
            assertThat(Arrays.equals(got, expected)).isTrue();
            assertThat(f.read(buf.clear(), pos)).isEqualTo(-1);
            assertThat(residentBytes(file)).isGreaterThan(0);
        }
    }

    @Test
    void dropBehind_throughAnotherDescriptor_dropsTheFilesPages() throws Exception {
        Path file = randomFile("other.bin", 4);
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer b = ByteBuffer.allocate(1 << 20);
            while (ch.read(b.clear()) > 0) {
                // read through the JDK
            }
        }
        assertThat(residentBytes(file)).isEqualTo(4L << 20);
        try (NativeFile f = NativeFile.open(file)) {
            PageCache.dropBehind(f.fd(), 0, 0);
        }
        assertThat(residentBytes(file)).isZero();
    }

    @Test
    void dropBehindUpTo_keepsASequentialReaderOutOfThePageCache() throws Exception {
        Path file = randomFile("seq.bin", 64);
        try (NativeFile f = NativeFile.open(file)) {
            f.dropBehind(0, 0);
            PageCache.adviseSequential(f.fd());
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            long pos = 0;
            for (int n; (n = f.read(buf.clear(), pos)) > 0; ) {
                pos += n;
                f.dropBehindUpTo(pos);
            }
            assertThat(pos).isEqualTo(64L << 20);
            // what is left is at most the last aligned step: large folios are dropped whole
            assertThat(residentBytes(file)).isLessThanOrEqualTo(NativeFile.DROP_ALIGN);
            f.dropBehindUpTo(0); // wrapping drops the rest of the file
            assertThat(residentBytes(file)).isZero();
        }
    }

    @Test
    void nativeFile_doesNotTouchTheAccessTime() throws Exception {
        Path file = randomFile("atime.bin", 1);
        FileTime old = FileTime.from(Instant.now().minus(3, ChronoUnit.DAYS));
        Files.setAttribute(file, "lastAccessTime", old);
        try (NativeFile f = NativeFile.open(file)) {
            f.read(ByteBuffer.allocateDirect(4096), 0);
        }
        assertThat(Files.getAttribute(file, "lastAccessTime")).isEqualTo(old);
        // the control: an ordinary read on this mount does update it (relatime and a 3-day-old atime)
        Files.readAllBytes(file);
        assertThat(((FileTime) Files.getAttribute(file, "lastAccessTime")).compareTo(old)).isPositive();
    }

    @Test
    void nativeFile_openMissingFileNamesIt() {
        Path missing = tmp.resolve("nope");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> NativeFile.open(missing))
                .isInstanceOf(java.io.IOException.class)
                .hasMessage(missing + ": open failed: errno 2");
    }
}
