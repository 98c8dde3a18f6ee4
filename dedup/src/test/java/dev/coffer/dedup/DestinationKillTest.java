package dev.coffer.dedup;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a real destination process at random points during uploads: after each restart every
 * block the client saw acknowledged must be readable and intact, and the store must verify clean.
 */
@Timeout(value = 170, unit = TimeUnit.SECONDS)
class DestinationKillTest {
    @TempDir
    Path dir;

    private static final int BLOCK_SIZE = 256 << 10;

    /** Block {@code id}: every third one compressible text (stored zstd), the rest incompressible. */
    private static byte[] block(int id) {
        return id % 3 == 0 ? TestBlocks.text(id, BLOCK_SIZE) : TestBlocks.random(id, BLOCK_SIZE);
    }

    private Process startChild(Path store) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                DestinationMain.class.getName(), "--store", store.toString(), "--listen", "127.0.0.1:0", "--plaintext-loopback")
                .redirectError(dir.resolve("child-stderr.log").toFile())
                .start();
        return p;
    }

    private static InetSocketAddress awaitListening(Process p) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                String l;
                while ((l = r.readLine()) != null) {
                    if (l.startsWith("LISTENING ")) {
                        return l.substring("LISTENING ".length());
                    }
                }
                return null;
            } catch (java.io.IOException e) {
                return null;
            }
        });
        String addr = line.get(60, TimeUnit.SECONDS);
        assertThat(addr).as("child destination started").isNotNull();
        return DestinationMain.parseAddress(addr);
    }

    @Test
    void killMinus9DuringUploads_loosesNoAcknowledgedBlock() throws Exception {
        Path store = dir.resolve("store");
        Random rnd = new Random(42);
        Set<Integer> acked = ConcurrentHashMap.newKeySet();
        int next = 0;
        for (int round = 0; round < 4; round++) {
            Process p = startChild(store);
            try {
                InetSocketAddress addr = awaitListening(p);
                // after a crash, recovery has run: everything acknowledged before is there and intact
                try (RemoteDestination d = RemoteDestination.connect(ClientOptions.plaintextLoopback(addr, null)
                        .withMaxReconnectAttempts(1))) {
                    List<byte[]> ackedShas = new ArrayList<>();
                    for (int i : acked) {
                        ackedShas.add(TestBlocks.sha(block(i)));
                    }
                    assertThat(d.has(ackedShas).join().cardinality()).isEqualTo(ackedShas.size());
                    for (int i : acked) {
                        if (i % 5 == 0) { // read back a fifth of them fully
                            assertThat(TestBlocks.bytes(d.get(TestBlocks.sha(block(i))).join())).isEqualTo(block(i));
                        }
                    }
                    // upload until killed at a random moment
                    long killAfterMs = 400 + rnd.nextInt(1600);
                    long t0 = System.nanoTime();
                    boolean killed = false;
                    List<CompletableFuture<PutResult>> fs = new ArrayList<>();
                    while (!killed) {
                        int id = next++;
                        byte[] b = block(id);
                        CompletableFuture<PutResult> f = d.put(TestBlocks.sha(b), ByteBuffer.wrap(b));
                        f.thenRun(() -> acked.add(id));
                        fs.add(f);
                        if ((System.nanoTime() - t0) / 1_000_000 > killAfterMs) {
                            p.destroyForcibly();
                            killed = true;
                        }
                    }
                    p.waitFor(30, TimeUnit.SECONDS);
                    for (CompletableFuture<PutResult> f : fs) {
                        f.handle((v, e) -> null).get(60, TimeUnit.SECONDS);
                    }
                } catch (DedupException closeAfterKill) {
                    // close() after the server died reports it; the acknowledged set is what counts
                }
            } finally {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
        System.out.println("kill test: acknowledged=" + acked.size() + " attempted=" + next);
        assertThat(acked).as("some uploads were acknowledged before the kills").hasSizeGreaterThan(10);
        try (BlockStore s = BlockStore.open(store)) {
            for (int i : acked) {
                byte[] b = block(i);
                assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(b)))).isEqualTo(b);
            }
            VerifyReport v = s.verify();
            System.out.println("kill test: acknowledged=" + acked.size() + " attempted=" + next + " indexed=" + v.blocksChecked());
            assertThat(v.damaged()).isEmpty();
            assertThat(v.blocksChecked()).isGreaterThanOrEqualTo(acked.size());
        }
    }
}
