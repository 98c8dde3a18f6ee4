package dev.coffer.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS)
class PackAppenderTest {
    @TempDir
    Path dir;

    private static final byte[] HEADER = "PACKHEAD0123456!".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private PackAppender create(String name, boolean buffered) throws IOException {
        Path f = dir.resolve(name);
        FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        ch.write(ByteBuffer.wrap(HEADER), 0);
        return PackAppender.open(f, ch, HEADER.length, buffered);
    }

    private static PackAppender reopen(Path f, boolean buffered) throws IOException {
        FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return PackAppender.open(f, ch, ch.size(), buffered);
    }

    @Test
    void directAppends_onThisFileSystem_bypassThePageCache_andOnTmpfsFallBack() throws IOException {
        String type = Files.getFileStore(dir).type();
        try (PackAppender a = create("p", false)) {
            // ext4, xfs and btrfs take O_DIRECT; where the file system refuses it the appender writes buffered
            if (type.equals("ext4") || type.equals("xfs") || type.equals("btrfs")) {
                assertThat(a.direct()).as("direct I/O on %s", type).isTrue();
            }
        }
        try (PackAppender a = create("q", true)) {
            assertThat(a.direct()).isFalse();
        }
    }

    /**
     * Records of every awkward size (1 byte, one short of a block, several stages long), in heap and direct
     * parts, forced at random points and reopened: the file holds exactly the bytes appended, in both modes.
     */
    @Test
    void randomAppendsForcesAndReopens_leaveExactlyTheAppendedBytes_inBothModes() throws IOException {
        for (boolean buffered : new boolean[] {false, true}) {
            Path f = dir.resolve("pack-" + buffered);
            java.io.ByteArrayOutputStream expected = new java.io.ByteArrayOutputStream();
            expected.write(HEADER, 0, HEADER.length);
            Random rnd = new Random(42);
            int[] sizes = {1, 4095, 4096, 4097, 511, 65536, PackAppender.STAGE_BYTES - 3, 2 * PackAppender.STAGE_BYTES + 17, 7, 1 << 20};
            PackAppender a = create(f.getFileName().toString(), buffered);
            try {
                for (int round = 0; round < 40; round++) {
                    int n = sizes[rnd.nextInt(sizes.length)];
                    byte[] data = new byte[n];
                    rnd.nextBytes(data);
                    ByteBuffer[] parts;
                    if (rnd.nextBoolean()) {
                        int cut = rnd.nextInt(n + 1);
                        ByteBuffer direct = ByteBuffer.allocateDirect(n - cut).put(data, cut, n - cut).flip();
                        parts = new ByteBuffer[] {ByteBuffer.wrap(data, 0, cut), direct};
                    } else {
                        parts = new ByteBuffer[] {ByteBuffer.wrap(data)};
                    }
                    a.append(parts);
                    expected.write(data, 0, n);
                    assertThat(a.end()).isEqualTo(expected.size());
                    if (rnd.nextInt(4) == 0) {
                        a.force();
                        assertThat(Files.readAllBytes(f)).isEqualTo(expected.toByteArray());
                    }
                    if (rnd.nextInt(10) == 0) {
                        a.force();
                        a.close();
                        a = reopen(f, buffered);
                    }
                }
                a.force();
            } finally {
                a.close();
            }
            assertThat(Files.readAllBytes(f)).as("buffered=%s", buffered).isEqualTo(expected.toByteArray());
        }
    }

    @Test
    void truncate_dropsWhatWasAppendedSince_andAppendsFromThere() throws IOException {
        Path f = dir.resolve("t");
        byte[] kept = new byte[6000];
        byte[] dropped = new byte[3 * PackAppender.STAGE_BYTES / 2];
        byte[] after = new byte[5000];
        new Random(1).nextBytes(kept);
        new Random(2).nextBytes(dropped);
        new Random(3).nextBytes(after);
        try (PackAppender a = create("t", false)) {
            a.append(new ByteBuffer[] {ByteBuffer.wrap(kept)});
            a.force();
            long end = a.end();
            a.append(new ByteBuffer[] {ByteBuffer.wrap(dropped)}); // more than a stage: some of it reached the disk
            a.truncate(end);
            a.append(new ByteBuffer[] {ByteBuffer.wrap(after)});
            a.force();
        }
        ByteBuffer want = ByteBuffer.allocate(HEADER.length + kept.length + after.length).put(HEADER).put(kept).put(after);
        assertThat(Files.readAllBytes(f)).isEqualTo(want.array());
    }

    /**
     * A crash after a force wrote the padded last block and before it cut the file leaves zeros past the
     * last record: the store's recovery reads them as a torn tail, cuts them, and keeps every record.
     */
    @Test
    void zerosLeftPastTheLastRecord_areCutByRecovery() throws IOException {
        byte[] a = TestBlocks.random(5, 10_000);
        byte[] b = TestBlocks.random(6, 3_333);
        Path packs;
        try (BlockStore s = BlockStore.open(dir.resolve("store"))) {
            s.putRaw(TestBlocks.sha(a), ByteBuffer.wrap(a), BlockCodecs.defaults()).join();
            s.putRaw(TestBlocks.sha(b), ByteBuffer.wrap(b), BlockCodecs.defaults()).join();
            packs = s.dir().resolve("packs");
        }
        Path pack;
        try (var list = Files.list(packs)) {
            pack = list.findFirst().orElseThrow();
        }
        long size = Files.size(pack);
        try (FileChannel ch = FileChannel.open(pack, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate((int) (4096 - size % 4096)), size); // the padding of a block, never cut
        }
        try (BlockStore s = BlockStore.open(dir.resolve("store"))) {
            assertThat(Files.size(pack)).isEqualTo(size);
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(a)))).isEqualTo(a);
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(b)))).isEqualTo(b);
            byte[] c = TestBlocks.random(7, 777);
            s.putRaw(TestBlocks.sha(c), ByteBuffer.wrap(c), BlockCodecs.defaults()).join();
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(c)))).isEqualTo(c);
            assertThat(s.verify().ok()).isTrue();
        }
    }
}
