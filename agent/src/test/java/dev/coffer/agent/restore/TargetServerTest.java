package dev.coffer.agent.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.agent.restore.RestoreException.Code;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The restore-target server in this JVM on loopback, driven by the real client and by raw HTTP. */
class TargetServerTest {
    static final String TOKEN = "s3cret-token-for-tests";

    @TempDir
    Path tmp;
    Path root;
    TargetServer server;
    URI base;
    final HttpClient raw = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws Exception {
        root = Files.createDirectory(tmp.resolve("root"));
        server = startServer(0);
    }

    private TargetServer startServer(int port) throws Exception {
        TargetServer s = TargetServer.start(new InetSocketAddress("127.0.0.1", port),
                DirectoryTarget.open(root, DirectoryTarget.Options.defaults()), TOKEN, TargetServer.Options.defaults());
        base = URI.create("http://127.0.0.1:" + s.address().getPort());
        return s;
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    static HttpTargetClient.Options fastRetries(int attempts) {
        return new HttpTargetClient.Options(attempts, Duration.ofMillis(20), Duration.ofMillis(200), Duration.ofSeconds(30),
                Duration.ofSeconds(2), false);
    }

    @Test
    void restore_throughServer_parallelRandomOrder_matches() throws Exception {
        HttpTargetClient c = new HttpTargetClient(base, TOKEN, HttpTargetClient.Options.defaults());
        assertThat(c.health()).isEqualTo(WireFormat.VERSION);
        List<byte[]> contents = DirectoryTargetTest.restoreRandomTree(c, new Random(11), 10, 5 * TestData.CHUNK, 4);
        DirectoryTargetTest.assertTree(root, contents);
    }

    @Test
    void chunkHashes_whenSent_areChecked() throws Exception {
        HttpTargetClient c = new HttpTargetClient(base, TOKEN, new HttpTargetClient.Options(3, Duration.ofMillis(20),
                Duration.ofMillis(100), Duration.ofSeconds(30), Duration.ofSeconds(2), true));
        byte[] data = TestData.random(new Random(12), 2 * TestData.CHUNK + 3);
        Upload u = c.begin(TestData.file(List.of("h.bin"), data, ExistingPolicy.OVERWRITE));
        for (long off : TestData.shuffledOffsets(new Random(13), data.length)) {
            c.write(u, off, TestData.chunk(data, off));
        }
        c.commit(u);
        assertThat(Files.readAllBytes(root.resolve("h.bin"))).isEqualTo(data);
        // a chunk whose header hash is wrong is refused
        Upload u2 = c.begin(TestData.file(List.of("h2.bin"), data, ExistingPolicy.OVERWRITE));
        HttpResponse<String> r = raw.send(HttpRequest.newBuilder(URI.create(base + "/v1/files/h2.bin?offset=0"))
                .header("Authorization", "Bearer " + TOKEN)
                .header("X-Coffer-Sha256", HexFormat.of().formatHex(TestData.sha256(new byte[1])))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(data, 0, 1000)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(409);
        assertThat(json(r).path("code").asText()).isEqualTo("hash_mismatch");
        assertThat(c.status(u2.file())).isEmpty();
    }

    @Test
    void wrongOrMissingToken_isRefusedWith401() throws Exception {
        for (String auth : new String[] {null, "Bearer wrong", "Bearer " + TOKEN + "x", "Basic " + TOKEN, "Bearer "}) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/v1/health"));
            if (auth != null) {
                b.header("Authorization", auth);
            }
            HttpResponse<String> r = raw.send(b.build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(String.valueOf(auth)).isEqualTo(401);
            assertThat(json(r).path("code").asText()).isEqualTo("unauthorized");
        }
        // a PUT with a body is refused before anything is written
        HttpResponse<String> r = raw.send(HttpRequest.newBuilder(URI.create(base + "/v1/files/x?offset=0"))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[100_000])).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(401);
        HttpTargetClient bad = new HttpTargetClient(base, "nope", fastRetries(2));
        assertThatThrownBy(() -> bad.begin(TestData.file(List.of("a"), new byte[1], ExistingPolicy.OVERWRITE)))
                .extracting(e -> ((RestoreException) e).code()).isEqualTo(Code.UNAUTHORIZED);
        try (Stream<Path> s = Files.list(root)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly(".coffer-restore");
        }
    }

    @Test
    void commit_wrongHash_is409AndNoFinalFile() throws Exception {
        byte[] data = TestData.random(new Random(14), 100_000);
        byte[] wrong = TestData.sha256(new byte[] {1});
        HttpTargetClient c = new HttpTargetClient(base, TOKEN, fastRetries(2));
        RestoreFile f = new RestoreFile(List.of("w.bin"), null, data.length, wrong, 0, TestData.times(), 0, null,
                ExistingPolicy.OVERWRITE);
        Upload u = c.begin(f);
        c.write(u, 0, ByteBuffer.wrap(data));
        String body = WireFormat.bytes(WireFormat.fileJson(f)).length > 0
                ? new String(WireFormat.bytes(WireFormat.fileJson(f)), StandardCharsets.UTF_8) : "";
        HttpResponse<String> r = raw.send(HttpRequest.newBuilder(URI.create(base + "/v1/files/w.bin/commit"))
                .header("Authorization", "Bearer " + TOKEN)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(409);
        assertThat(json(r).path("code").asText()).isEqualTo("hash_mismatch");
        assertThat(json(r).path("error").asText()).contains(HexFormat.of().formatHex(wrong));
        assertThat(root.resolve("w.bin")).doesNotExist();
        // the client reports the same as a typed exception
        Upload u2 = c.begin(f);
        c.write(u2, 0, ByteBuffer.wrap(data));
        assertThatThrownBy(() -> c.commit(u2)).extracting(e -> ((RestoreException) e).code()).isEqualTo(Code.HASH_MISMATCH);
        assertThat(root.resolve("w.bin")).doesNotExist();
    }

    @Test
    void escapingNames_landInsideRootAndAreReported() throws Exception {
        HttpTargetClient c = new HttpTargetClient(base, TOKEN, fastRetries(2));
        Path outside = tmp;
        List<List<String>> paths = List.of(List.of("..", "..", "evil.txt"), List.of("/etc", "passwd"), List.of("a/../../b"),
                List.of("CON"), List.of("x\0y"), List.of("C:\\Windows", "system32"), List.of("ok", "\ud800lone"),
                List.of("Trail. "));
        for (List<String> p : paths) {
            byte[] data = String.join("|", p).getBytes(StandardCharsets.UTF_8);
            Upload u = c.begin(TestData.file(p, data, ExistingPolicy.OVERWRITE));
            assertThat(u.mappings()).as(p.toString()).isNotEmpty();
            c.write(u, 0, ByteBuffer.wrap(data));
            CommitResult r = c.commit(u);
            assertThat(r.mappings()).isEqualTo(u.mappings());
            Path written = root.toRealPath().resolve(r.path());
            assertThat(written.normalize()).startsWith(root.toRealPath());
            assertThat(Files.readAllBytes(written)).isEqualTo(data);
        }
        try (Stream<Path> s = Files.list(outside)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("root");
        }
        assertThat(root.resolve("__/__/evil.txt")).exists();
        assertThat(root.resolve("_CON")).exists();
        assertThat(root.resolve("ok/_lone")).exists();
    }

    @Test
    void badRequests_getTypedJsonErrors() throws Exception {
        HttpTargetClient c = new HttpTargetClient(base, TOKEN, fastRetries(2));
        byte[] data = new byte[1000];
        c.begin(TestData.file(List.of("r.bin"), data, ExistingPolicy.OVERWRITE));
        record Case(String method, String path, byte[] body, int status, String code) {}
        List<Case> cases = List.of(
                new Case("PUT", "/v1/files/r.bin", new byte[1], 400, "bad_request"),
                new Case("PUT", "/v1/files/r.bin?offset=-1", new byte[1], 400, "bad_request"),
                new Case("PUT", "/v1/files/r.bin?offset=abc", new byte[1], 400, "bad_request"),
                new Case("PUT", "/v1/files/r.bin?offset=999", new byte[2], 400, "bad_request"),
                new Case("PUT", "/v1/files/r.bin?offset=0", new byte[RestoreTarget.MAX_CHUNK_BYTES + 1], 413, null),
                new Case("PUT", "/v1/files/never-begun?offset=0", new byte[1], 404, "unknown_upload"),
                new Case("PUT", "/v1/files/bad%C0%80?offset=0", new byte[1], 400, "bad_request"),
                new Case("GET", "/v1/nothing", null, 404, "not_found"),
                new Case("GET", "/v1/files/r.bin/commit", null, 405, "method_not_allowed"),
                new Case("POST", "/v1/files/r.bin/begin", "{not json".getBytes(StandardCharsets.UTF_8), 400, "bad_request"),
                new Case("POST", "/v1/files/r.bin/begin", "{\"size\":-5,\"sha256\":\"00\",\"policy\":\"SKIP\"}"
                        .getBytes(StandardCharsets.UTF_8), 400, "bad_request"),
                new Case("POST", "/v1/files/r.bin/begin", ("{\"size\":5,\"sha256\":\"" + "0".repeat(64)
                        + "\",\"policy\":\"EXPLODE\"}").getBytes(StandardCharsets.UTF_8), 400, "bad_request"),
                new Case("GET", "/v1/files/r.bin/status", null, 400, "bad_request"),
                new Case("POST", "/v1/files/r.bin/commit", WireFormat.bytes(WireFormat.fileJson(
                        TestData.file(List.of("r.bin"), data, ExistingPolicy.OVERWRITE))), 409, "incomplete"));
        for (Case k : cases) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + k.path())).header("Authorization", "Bearer " + TOKEN)
                    .method(k.method(), k.body() == null ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(k.body()));
            HttpResponse<String> r = raw.send(b.build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(k.method() + " " + k.path() + " -> " + r.body()).isEqualTo(k.status());
            if (k.code() != null) {
                assertThat(json(r).path("code").asText()).as(k.path()).isEqualTo(k.code());
                assertThat(json(r).path("error").asText()).isNotBlank();
            }
        }
        // requests the JDK client refuses to send: malformed escapes, raw control characters
        for (String path : List.of("/v1/files/bad%ZZ?offset=0", "/v1/files/bad%2?offset=0", "/v1/files/a%00b/begin")) {
            String reply = rawExchange(base.getPort(), "PUT " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + TOKEN + "\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
            assertThat(reply).as(path).startsWith("HTTP/1.1 400").contains("\"code\":\"bad_request\"");
        }
        // the server still works after all that
        assertThat(c.health()).isEqualTo(WireFormat.VERSION);
    }

    /** Two requests written back to back on one connection (pipelining) are answered in order. */
    @Test
    void pipelinedRequests_areAnsweredInOrder() throws Exception {
        byte[] data = TestData.random(new Random(15), 3000);
        HttpTargetClient c = new HttpTargetClient(base, TOKEN, fastRetries(2));
        RestoreFile f = TestData.file(List.of("p.bin"), data, ExistingPolicy.OVERWRITE);
        c.begin(f);
        try (Socket s = new Socket("127.0.0.1", base.getPort())) {
            OutputStream out = s.getOutputStream();
            StringBuilder req = new StringBuilder();
            for (int i = 0; i < 3; i++) {
                req.append("PUT /v1/files/p.bin?offset=").append(i * 1000).append(" HTTP/1.1\r\nHost: x\r\n")
                        .append("Authorization: Bearer ").append(TOKEN).append("\r\nContent-Length: 1000\r\n\r\n");
                out.write(req.toString().getBytes(StandardCharsets.US_ASCII));
                out.write(data, i * 1000, 1000);
                req.setLength(0);
            }
            out.write(("GET /v1/health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(all.split("HTTP/1.1 204", -1)).hasSize(4);
            assertThat(all.lastIndexOf("HTTP/1.1 200")).isGreaterThan(all.lastIndexOf("HTTP/1.1 204"));
            assertThat(all).endsWith("\"protocol\":1}");
        }
        assertThat(c.commit(c.begin(f)).outcome()).isEqualTo(CommitResult.Outcome.WRITTEN);
        assertThat(Files.readAllBytes(root.resolve("p.bin"))).isEqualTo(data);
    }

    /** A target that goes away is retried, then reported as UNAVAILABLE with the attempts named. */
    @Test
    void targetGone_isRetriedThenReported() throws Exception {
        HttpTargetClient c = new HttpTargetClient(base, TOKEN, fastRetries(4));
        byte[] data = new byte[10];
        Upload u = c.begin(TestData.file(List.of("gone.bin"), data, ExistingPolicy.OVERWRITE));
        server.close();
        server = null;
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> c.write(u, 0, ByteBuffer.wrap(data)))
                .isInstanceOf(RestoreException.class)
                .hasMessageContaining("unreachable after 4 attempts")
                .extracting(e -> ((RestoreException) e).code()).isEqualTo(Code.UNAVAILABLE);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("3 backoffs: 20+40+80 ms").isGreaterThanOrEqualTo(Duration.ofMillis(140));
    }

    /** The server restarts while the client is retrying: the client begins again and resumes, nothing is lost. */
    @Test
    void serverRestart_duringRetries_clientResumes() throws Exception {
        HttpTargetClient c = new HttpTargetClient(base, TOKEN, fastRetries(30));
        Random rnd = new Random(16);
        byte[] data = TestData.random(rnd, 6 * TestData.CHUNK);
        RestoreFile f = TestData.file(List.of("restart.bin"), data, ExistingPolicy.OVERWRITE);
        Upload u = c.begin(f);
        List<Long> offsets = TestData.shuffledOffsets(rnd, data.length);
        for (long off : offsets.subList(0, 3)) {
            c.write(u, off, TestData.chunk(data, off));
        }
        int port = server.address().getPort();
        server.close();
        CompletableFuture<TargetServer> restarted = CompletableFuture.supplyAsync(() -> {
            try {
                Thread.sleep(300);
                return startServer(port);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        for (long off : offsets.subList(3, offsets.size())) {
            c.write(u, off, TestData.chunk(data, off)); // first one retries until the server is back
        }
        server = restarted.get();
        assertThat(c.status(f)).containsExactly(new ByteRange(0, data.length));
        assertThat(c.commit(u).outcome()).isEqualTo(CommitResult.Outcome.WRITTEN);
        assertThat(Files.readAllBytes(root.resolve("restart.bin"))).isEqualTo(data);
    }

    /** Sends raw bytes on a new connection and returns everything the server answers until it closes. */
    static String rawExchange(int port, String request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return new ObjectMapper().readTree(r.body());
    }

    @SuppressWarnings("unused")
    private static String read(InputStream in) throws Exception {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
}
