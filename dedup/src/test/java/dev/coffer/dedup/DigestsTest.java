package dev.coffer.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DigestsTest {
    /**
     * The machines this project builds and runs on have OpenSSL's libcrypto (scripts/test installs it):
     * the native path must be the one exercised here, not silently the fallback.
     */
    @Test
    void libcryptoIsLoadedOnThisMachine() {
        assertThat(Digests.nativeDigests()).as("libcrypto digests loaded (apt-get install libssl3)").isTrue();
    }

    @Test
    void sha256AndMd5_matchTheJdk_forEverySizeAndKindOfBuffer() throws Exception {
        Random r = new Random(42);
        Digests.Digest sha = Digests.sha256();
        Digests.Digest md5 = Digests.md5();
        MessageDigest jdkSha = MessageDigest.getInstance("SHA-256");
        MessageDigest jdkMd5 = MessageDigest.getInstance("MD5");
        // around the 64-byte block size, the 64 KiB copy buffer of heap input, and a 1 MiB block
        int[] sizes = {0, 1, 55, 56, 63, 64, 65, 4095, 4096, 65535, 65536, 65537, 200_003, 1 << 20};
        for (int size : sizes) {
            byte[] data = new byte[size + 7];
            r.nextBytes(data);
            jdkSha.update(data, 3, size);
            jdkMd5.update(data, 3, size);
            byte[] wantSha = jdkSha.digest();
            byte[] wantMd5 = jdkMd5.digest();

            sha.update(data, 3, size);
            md5.update(data, 3, size);
            assertThat(sha.digest()).as("heap array, %d bytes", size).isEqualTo(wantSha);
            assertThat(md5.digest()).as("heap array, %d bytes", size).isEqualTo(wantMd5);

            ByteBuffer heap = ByteBuffer.wrap(data, 3, size).slice();
            sha.update(heap.duplicate());
            md5.update(heap);
            assertThat(heap.hasRemaining()).isFalse();
            assertThat(sha.digest()).as("heap buffer slice, %d bytes", size).isEqualTo(wantSha);
            assertThat(md5.digest()).as("heap buffer slice, %d bytes", size).isEqualTo(wantMd5);

            ByteBuffer direct = ByteBuffer.allocateDirect(size + 7);
            direct.put(data).position(3).limit(3 + size);
            // fed in uneven pieces, direct and heap mixed: the result depends only on the bytes
            int cut = size / 3;
            ByteBuffer first = direct.duplicate().limit(3 + cut);
            sha.update(first);
            sha.update(data, 3 + cut, size - cut);
            assertThat(sha.digest()).as("direct then heap, %d bytes", size).isEqualTo(wantSha);
            md5.update(direct);
            assertThat(direct.position()).isEqualTo(3 + size);
            assertThat(md5.digest()).as("direct buffer at an offset, %d bytes", size).isEqualTo(wantMd5);
        }
    }

    @Test
    void manySmallUpdates_mixedWithDirectOnes_giveTheJdksDigest() throws Exception {
        // heap bytes are gathered before they reach libcrypto: order must survive a direct update between
        Random r = new Random(9);
        Digests.Digest sha = Digests.sha256();
        MessageDigest jdk = MessageDigest.getInstance("SHA-256");
        for (int round = 0; round < 5000; round++) {
            byte[] piece = new byte[r.nextInt(40)];
            r.nextBytes(piece);
            sha.update(piece, 0, piece.length);
            jdk.update(piece);
            if (round % 997 == 0) {
                ByteBuffer direct = ByteBuffer.allocateDirect(70_000);
                byte[] fill = new byte[70_000];
                r.nextBytes(fill);
                direct.put(fill).flip();
                sha.update(direct);
                jdk.update(fill);
            }
        }
        assertThat(sha.digest()).isEqualTo(jdk.digest());
    }

    /** A backup binds the per-block calls direct while digests are in use: both bindings give the same bytes. */
    @Test
    void directCalls_giveTheJdksDigests_evenForADigestStartedBeforeTheSwitch() throws Exception {
        byte[] data = TestBlocks.random(11, 3 * 65536 + 17);
        MessageDigest jdkSha = MessageDigest.getInstance("SHA-256");
        MessageDigest jdkMd5 = MessageDigest.getInstance("MD5");
        Digests.Digest sha = Digests.sha256();
        Digests.Digest md5 = Digests.md5();
        ByteBuffer direct = ByteBuffer.allocateDirect(data.length).put(data).flip();
        sha.update(direct.duplicate().limit(65536 + 5));
        md5.update(data, 0, 65536 + 5);

        Digests.bindDirectCalls();
        sha.update(direct.duplicate().position(65536 + 5));
        md5.update(data, 65536 + 5, data.length - 65536 - 5);
        assertThat(sha.digest()).isEqualTo(jdkSha.digest(data));
        assertThat(md5.digest()).isEqualTo(jdkMd5.digest(data));
        for (int size : new int[] {0, 1, 64, 65537, 1 << 20}) {
            byte[] d = TestBlocks.random(size, size);
            Digests.Digest s = Digests.sha256();
            s.update(ByteBuffer.allocateDirect(size).put(d).flip());
            assertThat(s.digest()).as("%d bytes, direct", size).isEqualTo(jdkSha.digest(d));
            Digests.Digest m = Digests.md5();
            m.update(d, 0, size);
            assertThat(m.digest()).as("%d bytes, heap", size).isEqualTo(jdkMd5.digest(d));
        }
    }

    @Test
    void reset_forgetsWhatWasFed() throws Exception {
        Digests.Digest sha = Digests.sha256();
        sha.update(new byte[] {1, 2, 3}, 0, 3);
        sha.reset();
        sha.update(new byte[] {'a', 'b', 'c'}, 0, 3);
        assertThat(sha.digest()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(new byte[] {'a', 'b', 'c'}));
        // digest() starts over by itself
        assertThat(sha.digest()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(new byte[0]));
    }

    @Test
    void blockHasher_givesTheJdksDigests() throws Exception {
        byte[] block = TestBlocks.random(7, (1 << 20) + 333);
        ByteBuffer direct = ByteBuffer.allocateDirect(block.length).put(block).flip();
        BlockHash h = new BlockHasher().hash(direct);
        assertThat(h.sha256()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(block));
        assertThat(h.md5()).isEqualTo(MessageDigest.getInstance("MD5").digest(block));
        assertThat(direct.position()).isZero();
    }
}
