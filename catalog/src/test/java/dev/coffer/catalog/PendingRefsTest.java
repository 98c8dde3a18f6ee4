package dev.coffer.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class PendingRefsTest {
    @Test
    void forEachGrouped_mergesRunsInShaOrderWithCounts() throws Exception {
        Random rnd = new Random(42);
        List<Block> pool = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            byte[] sha = new byte[32];
            rnd.nextBytes(sha);
            if (i % 7 == 0) {
                sha[0] = (byte) 0xff; // high bytes must sort as unsigned
            }
            if (i % 11 == 0 && i > 0) {
                System.arraycopy(pool.get(i - 1).sha256(), 0, sha, 0, 31); // differ only in the last byte
            }
            byte[] md5 = new byte[16];
            rnd.nextBytes(md5);
            pool.add(new Block(sha, md5, 1 + rnd.nextInt(1 << 20)));
        }
        TreeMap<String, Long> expected = new TreeMap<>();
        TreeMap<String, Block> byHex = new TreeMap<>();
        PendingRefs p = new PendingRefs();
        for (int run = 0; run < 9; run++) {
            PendingRefs.Batch b = new PendingRefs.Batch();
            for (int k = rnd.nextInt(2000); k > 0; k--) {
                Block x = pool.get(rnd.nextInt(pool.size()));
                b.add(x);
                String h = HexFormat.of().formatHex(x.sha256());
                expected.merge(h, 1L, Long::sum);
                byHex.put(h, x);
            }
            p.addRun(b.sortedRun());
        }
        p.addRun(new PendingRefs.Batch().sortedRun()); // an empty batch adds nothing
        List<String> got = new ArrayList<>();
        p.forEachGrouped((sha, md5, size, refs) -> {
            String h = HexFormat.of().formatHex(sha);
            assertThat(md5).isEqualTo(byHex.get(h).md5());
            assertThat(size).isEqualTo(byHex.get(h).sizeBytes());
            got.add(h + "=" + refs);
        });
        List<String> want = new ArrayList<>();
        expected.forEach((h, n) -> want.add(h + "=" + n));
        assertThat(got).containsExactlyElementsOf(want); // hex order == unsigned byte order
        assertThat(p.count()).isEqualTo(expected.values().stream().mapToLong(Long::longValue).sum());
    }

    static PendingRefs randomRuns(long seed, int runs, int perRun, int distinct) throws Exception {
        Random rnd = new Random(seed);
        PendingRefs p = new PendingRefs();
        for (int r = 0; r < runs; r++) {
            PendingRefs.Batch b = new PendingRefs.Batch();
            for (int k = 0; k < perRun; k++) {
                byte[] sha = new byte[32];
                new Random(rnd.nextInt(distinct)).nextBytes(sha);
                b.add(new Block(sha, java.util.Arrays.copyOf(sha, 16), 7));
            }
            p.addRun(b.sortedRun());
        }
        return p;
    }

    @Test
    void forEachGroupedConcurrently_equalsTheSequentialMerge() throws Exception {
        // more rows than several chunks, so the queue fills and the merging thread waits
        PendingRefs p = randomRuns(1, 13, 5000, 60_000);
        List<String> seq = new ArrayList<>();
        p.forEachGrouped((sha, md5, size, refs) -> seq.add(HexFormat.of().formatHex(sha) + refs));
        List<String> conc = new ArrayList<>();
        p.forEachGroupedConcurrently((sha, md5, size, refs) -> conc.add(HexFormat.of().formatHex(sha) + refs));
        assertThat(seq.size()).isGreaterThan(PendingRefs.CHUNK_ROWS * (PendingRefs.CHUNKS_AHEAD + 2));
        assertThat(conc).isEqualTo(seq);
    }

    @Test
    void forEachGroupedConcurrently_aFailingSinkStopsTheMerge() throws Exception {
        PendingRefs p = randomRuns(2, 13, 3000, 20_000);
        int[] seen = {0};
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> p.forEachGroupedConcurrently((sha, md5, size, refs) -> {
            if (++seen[0] == 10) {
                throw new java.sql.SQLException("disk full");
            }
        })).isInstanceOf(java.sql.SQLException.class).hasMessage("disk full");
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("catalog-merge") && t.isAlive());
    }
}
