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
}
