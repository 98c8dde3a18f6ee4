package dev.coffer.agent.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PartialFileTest {
    @TempDir
    Path dir;

    private static SafeNames.MappedPath mapped(String name) {
        return new SafeNames.MappedPath(List.of(name), List.of());
    }

    /**
     * A file of a size no block divides, written in shuffled chunks of awkward lengths and offsets (some
     * aligned, some not, one written twice, one heap slice of another array), ends up byte for byte as
     * its content, with the block-tree hash of it; on ext4 (the test machine's /tmp) the aligned parts
     * went past the page cache, and a small file never does.
     */
    @Test
    void directAndBufferedParts_giveTheExactContent_andItsHash() throws Exception {
        Random rnd = new Random(7);
        byte[] content = TestData.random(rnd, 5 * TestData.CHUNK + 4097);
        RestoreFile f = TestData.treeFile(List.of("big.bin"), content, TestData.CHUNK, ExistingPolicy.OVERWRITE);
        record Piece(long offset, int length) {}
        List<Piece> pieces = new ArrayList<>();
        int[] cuts = {0, 4096, 4096 + 511, TestData.CHUNK, 2 * TestData.CHUNK + 3, 3 * TestData.CHUNK, 5 * TestData.CHUNK,
                content.length};
        for (int i = 0; i + 1 < cuts.length; i++) {
            pieces.add(new Piece(cuts[i], cuts[i + 1] - cuts[i]));
        }
        pieces.add(new Piece(TestData.CHUNK, 2 * TestData.CHUNK + 3 - TestData.CHUNK)); // a chunk sent twice
        Collections.shuffle(pieces, rnd);
        try (PartialFile p = PartialFile.open(dir, "big", f, mapped("big.bin"), Long.MAX_VALUE, true)) {
            if (Files.getFileStore(dir).type().equals("ext4")) {
                assertThat(p.writesDirect()).isTrue();
            }
            for (Piece piece : pieces) {
                byte[] padded = new byte[piece.length() + 10]; // the chunk as a slice in the middle of a larger array
                System.arraycopy(content, (int) piece.offset(), padded, 7, piece.length());
                p.write(piece.offset(), new ByteBuffer[] {ByteBuffer.wrap(padded, 7, piece.length()).slice()});
            }
            assertThat(p.complete()).isTrue();
            assertThat(p.finishHash()).isEqualTo(f.sha256());
            p.truncate(true);
        }
        assertThat(Files.readAllBytes(dir.resolve("big.part"))).isEqualTo(content);

        byte[] small = TestData.random(rnd, 300_000);
        RestoreFile s = TestData.file(List.of("small.bin"), small, ExistingPolicy.OVERWRITE);
        try (PartialFile p = PartialFile.open(dir, "small", s, mapped("small.bin"), Long.MAX_VALUE, true)) {
            assertThat(p.writesDirect()).isFalse();
            p.write(0, new ByteBuffer[] {ByteBuffer.wrap(small)});
            assertThat(p.finishHash()).isEqualTo(s.sha256());
        }
        try (PartialFile p = PartialFile.open(dir, "buffered", f, mapped("big.bin"), Long.MAX_VALUE, false)) {
            assertThat(p.writesDirect()).as("direct writes only when asked for").isFalse();
        }
    }
}
