package dev.coffer.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;

/**
 * Fuzz targets for the BLOB decoders (a stored blob is untrusted: the file may be damaged). In a normal
 * build they run once per seed under {@code src/test/resources/dev/coffer/catalog/BlobsFuzzTestInputs/};
 * {@code JAZZER_FUZZ=1 mvn -pl catalog test -Dtest=BlobsFuzzTest} fuzzes for real. The only acceptable
 * failure is a CorruptCatalogException naming the place; whatever decodes must re-encode to the same bytes.
 */
class BlobsFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void runs(byte[] data) throws Exception {
        List<Run> runs;
        try {
            runs = Blobs.decodeRuns(data, "fuzz");
        } catch (CorruptCatalogException expected) {
            assertThat(expected.getMessage()).startsWith("fuzz: ");
            return;
        }
        // decoding is canonical up to varint padding: what decodes re-decodes identically from its encoding
        assertThat(Blobs.decodeRuns(Blobs.encodeRuns(runs), "again")).isEqualTo(runs);
    }

    @FuzzTest(maxDuration = "60s")
    void blocks(byte[] data) {
        int n;
        try {
            n = Blobs.blockCount(data, "fuzz");
        } catch (CorruptCatalogException expected) {
            assertThat(expected.getMessage()).startsWith("fuzz: ");
            return;
        }
        for (int i = 0; i < n; i++) {
            assertThat(Blobs.blockSha(data, i)).hasSize(32);
            Blobs.blockOffset(data, i);
        }
    }
}
