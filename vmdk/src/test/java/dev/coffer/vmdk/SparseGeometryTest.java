package dev.coffer.vmdk;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hosted sparse files with geometry qemu-img never writes (1-sector and 8-sector grains, short grain
 * tables, a capacity that is not a multiple of the grain, zeroed-grain GTEs, compressed grains): made
 * by the test-side writer, read by qemu-img as the oracle, and by Coffer.
 */
class SparseGeometryTest {
    @TempDir
    Path tmp;

    @Test
    void unusualGeometriesReadLikeQemu() throws IOException {
        Random rnd = new Random(11);
        int n = 0;
        for (int grainSectors : new int[] {1, 8, 128}) {
            for (int gtes : new int[] {4, 512}) {
                for (boolean compressed : new boolean[] {false, true}) {
                    long capacity = grainSectors * 300L + (grainSectors > 1 ? grainSectors / 2 : 0);
                    long grainCount = (capacity + grainSectors - 1) / grainSectors;
                    Map<Long, TestImages.Grain> grains = new HashMap<>();
                    byte[] expected = new byte[(int) (capacity * 512)];
                    for (long g = 0; g < grainCount; g++) {
                        int pick = rnd.nextInt(4);
                        if (pick == 0 || (compressed && pick == 1)) {
                            byte[] data = new byte[grainSectors * 512];
                            for (int i = 0; i < data.length; i++) {
                                data[i] = (byte) (rnd.nextInt(3) == 0 ? rnd.nextInt() : i / 7);
                            }
                            grains.put(g, new TestImages.Data(data));
                            int from = (int) (g * grainSectors * 512);
                            System.arraycopy(data, 0, expected, from, Math.min(data.length, expected.length - from));
                        } else if (pick == 1) {
                            grains.put(g, new TestImages.Zero());
                        }
                    }
                    Path p = tmp.resolve("g" + (n++) + ".vmdk");
                    TestImages.hostedSparse(p, capacity, grainSectors, gtes, grains, !compressed, !compressed, compressed);
                    assertThat(dev.coffer.testkit.Fixtures.run("qemu-img", "info", p.toString()))
                            .contains("create type: " + (compressed ? "streamOptimized" : "monolithicSparse"));
                    String qemu = Oracle.qemuRawMd5(p, tmp);
                    String label = "grain " + grainSectors + " gtes " + gtes + " compressed " + compressed;
                    assertThat(qemu).as(label).isEqualTo(md5(expected));
                    try (VirtualDisk d = VirtualDisk.open(p)) {
                        assertThat(d.size()).isEqualTo(capacity * 512);
                        assertThat(Oracle.md5(d, 1000)).as(label).isEqualTo(qemu);
                        assertThat(d.allocation(0, d.size())).as(label).isEqualTo(Oracle.qemuMap(p));
                        byte[] tail = new byte[700];
                        d.read(d.size() - 700, ByteBuffer.wrap(tail));
                        assertThat(tail).isEqualTo(Arrays.copyOfRange(expected, expected.length - 700, expected.length));
                    }
                }
            }
        }
    }

    static String md5(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
