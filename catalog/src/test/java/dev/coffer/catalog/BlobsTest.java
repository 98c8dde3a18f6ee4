package dev.coffer.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Round trips and hostile input for the block-list and run-list BLOB layouts. */
class BlobsTest {
    @Test
    void runs_roundTripIncludingSparseAndBackwardRuns() throws Exception {
        List<Run> runs = List.of(new Run(786_432, 16), new Run(Run.SPARSE, 1024), new Run(12, 3),
                new Run(0x7fff_ffff_ffffL, 1), new Run(0, Long.MAX_VALUE >> 2));
        byte[] blob = Blobs.encodeRuns(runs);
        assertThat(blob[0]).isEqualTo(Blobs.RUNS_FORMAT);
        assertThat(Blobs.decodeRuns(blob, "t")).isEqualTo(runs);
        Random r = new Random(7);
        for (int n = 0; n < 200; n++) {
            List<Run> rs = new ArrayList<>();
            for (int i = r.nextInt(50); i > 0; i--) {
                rs.add(r.nextInt(5) == 0 ? new Run(Run.SPARSE, 1 + r.nextInt(1 << 20))
                        : new Run(r.nextLong() >>> 20, 1 + (r.nextLong() >>> 30)));
            }
            assertThat(Blobs.decodeRuns(Blobs.encodeRuns(rs), "t")).isEqualTo(rs);
        }
    }

    @Test
    void runs_compactForTypicalFiles() throws Exception {
        // one contiguous run near 3 GiB into a 4 KiB-cluster volume: format byte + 2 + 3 varint bytes
        assertThat(Blobs.encodeRuns(List.of(new Run(786_432, 16)))).hasSize(1 + 1 + 3);
    }

    @Test
    void runs_rejectHostileBlobs() {
        assertThatThrownBy(() -> Blobs.decodeRuns(new byte[] {}, "stream 'x'")).isInstanceOf(CorruptCatalogException.class)
                .hasMessageContaining("stream 'x'").hasMessageContaining("format byte at 0x0");
        assertThatThrownBy(() -> Blobs.decodeRuns(new byte[] {2}, "s")).hasMessageContaining("found 0x02");
        assertThatThrownBy(() -> Blobs.decodeRuns(new byte[] {1, (byte) 0x82}, "s")).isInstanceOf(CorruptCatalogException.class)
                .hasMessageContaining("varint at 0x1");
        assertThatThrownBy(() -> Blobs.decodeRuns(new byte[] {1, 0}, "s")).hasMessageContaining("cluster count 0");
        assertThatThrownBy(() -> Blobs.decodeRuns(new byte[] {1, 2, 1}, "s")).hasMessageContaining("lcn expected >= 0");
        byte[] eleven = new byte[12];
        eleven[0] = 1;
        java.util.Arrays.fill(eleven, 1, 12, (byte) 0xff);
        assertThatThrownBy(() -> Blobs.decodeRuns(eleven, "s")).hasMessageContaining("longer than 10 bytes");
    }

    @Test
    void blocks_roundTripAndFraming() throws Exception {
        List<BlockRef> refs = List.of(new BlockRef(0, TestFiles.block("a")), new BlockRef(1 << 20, TestFiles.block("b")));
        byte[] blob = Blobs.encodeBlocks(refs);
        assertThat(blob).hasSize(1 + 2 * 40);
        assertThat(Blobs.blockCount(blob, "t")).isEqualTo(2);
        assertThat(Blobs.blockOffset(blob, 1)).isEqualTo(1 << 20);
        assertThat(Blobs.blockSha(blob, 1)).isEqualTo(TestFiles.block("b").sha256());
        assertThatThrownBy(() -> Blobs.blockCount(java.util.Arrays.copyOf(blob, 40), "region 3"))
                .isInstanceOf(CorruptCatalogException.class).hasMessageContaining("region 3")
                .hasMessageContaining("40 bytes");
        assertThatThrownBy(() -> Blobs.blockCount(new byte[] {9}, "r")).hasMessageContaining("found 0x09");
    }
}
