package dev.coffer.agent.destination;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.Main;
import dev.coffer.dedup.BlockHasher;
import dev.coffer.dedup.ClientOptions;
import dev.coffer.dedup.RemoteDestination;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class DestinationCommandTest {
    @TempDir
    Path dir;

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new String[] {String.valueOf(code), out.toString(), err.toString()};
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void serve_thenStatsVerifyGc_fromTheCli() throws Exception {
        Path store = dir.resolve("store");
        Path tokenFile = dir.resolve("token");
        Files.writeString(tokenFile, "tok-123\n");
        int port = freePort();
        DestinationCommand cmd = new DestinationCommand();
        CommandLine cli = new CommandLine(cmd);
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        CompletableFuture<Integer> server = CompletableFuture.supplyAsync(() -> cli.execute("--store", store.toString(),
                "--listen", "127.0.0.1:" + port, "--plaintext-loopback", "--token-file", tokenFile.toString()));
        byte[] block = new byte[300_000];
        new Random(1).nextBytes(block);
        byte[] sha = new BlockHasher().hash(ByteBuffer.wrap(block)).sha256();
        RemoteDestination d = null;
        for (int i = 0; i < 100 && d == null; i++) {
            try {
                d = RemoteDestination.connect(ClientOptions.plaintextLoopback(new InetSocketAddress("127.0.0.1", port),
                        "tok-123".getBytes(StandardCharsets.UTF_8)));
            } catch (dev.coffer.dedup.DedupException e) {
                Thread.sleep(100);
            }
        }
        assertThat(d).as("server came up").isNotNull();
        try (RemoteDestination c = d) {
            c.put(sha, ByteBuffer.wrap(block)).join();
            c.commitManifest("b1", List.of(sha)).join();
        }
        cmd.stop.countDown();
        assertThat(server.get(30, TimeUnit.SECONDS)).isZero();
        assertThat(out.toString()).contains("listening on 127.0.0.1:" + port);

        String[] stats = run("destination", "stats", "--store", store.toString(), "--json");
        assertThat(stats[0]).isEqualTo("0");
        assertThat(stats[1]).contains("\"blocks\" : 1").contains("\"manifests\" : 1").contains("\"logicalBytes\" : 300000");

        assertThat(run("destination", "verify", "--store", store.toString())[1]).contains("checked 1 blocks").contains("ok");
        assertThat(run("destination", "gc", "--store", store.toString())[1]).contains("deleted 0 blocks");

        // flip a byte in the pack: verify fails with exit 1 and names the backup
        Path pack = store.resolve("packs").resolve("pack-00000001.pack");
        try (RandomAccessFile f = new RandomAccessFile(pack.toFile(), "rw")) {
            f.seek(16 + 0x38 + 1000);
            int v = f.read();
            f.seek(16 + 0x38 + 1000);
            f.write(v ^ 1);
        }
        String[] verify = run("destination", "verify", "--store", store.toString());
        assertThat(verify[0]).isEqualTo("1");
        assertThat(verify[1]).contains("backup b1: 1 damaged").contains("DAMAGED");
    }

    @Test
    void badUsage_getsExit2OrOneLineErrors() {
        String[] r = run("destination", "--store", dir.toString(), "--listen", "0.0.0.0:0");
        assertThat(r[0]).isEqualTo("2"); // no auth mode chosen
        assertThat(r[2]).contains("plaintext-loopback");
        String[] p = run("destination", "--store", dir.resolve("s").toString(), "--listen", "0.0.0.0:0", "--plaintext-loopback");
        assertThat(p[0]).isEqualTo("1");
        assertThat(p[2]).startsWith("coffer: ").contains("loopback");
        String[] s = run("destination", "stats", "--store", dir.resolve("nothing").toString());
        assertThat(s[0]).isEqualTo("1");
        assertThat(s[2]).startsWith("coffer: ").contains("nothing");
    }
}
