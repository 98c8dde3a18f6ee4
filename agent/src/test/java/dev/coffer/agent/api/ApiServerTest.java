package dev.coffer.agent.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.agent.daemon.AgentDaemon;
import dev.coffer.agent.daemon.DaemonFixture;
import dev.coffer.agent.daemon.DaemonOptions;
import dev.coffer.testkit.Fixtures;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every endpoint of the query API on a real daemon, over the Unix socket and over TCP with a token. */
class ApiServerTest {
    private static final String TOKEN = "s3cret-token";
    @TempDir
    static Path dir;
    static DaemonFixture fx;
    static AgentDaemon daemon;
    static ApiClient uds;
    static HttpClient http;
    static String tcp;
    static long first;
    static long second;

    @BeforeAll
    static void start() throws Exception {
        fx = new DaemonFixture(dir);
        fx.writeConfig("  listen: 127.0.0.1:0\n  token_file: query.token\n",
                "policies:\n  - name: nightly\n    schedule: [\"0 2 * * *\"]\n    source: live\n    retention: {last: 5}\n");
        daemon = new AgentDaemon(fx.config, DaemonOptions.defaults().withPeriods(50, 100)
                .withRequestTimeout(Duration.ofMillis(700)), Clock.systemUTC());
        daemon.start();
        uds = new ApiClient(fx.socket, 30_000);
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        tcp = "http://127.0.0.1:" + daemon.api().tcpAddress().getPort();
        first = backupNow("{\"vm\": \"winvm\", \"policy\": \"nightly\"}");
        // the second reads every file again (coffer backup --full), and must still find nothing changed
        second = backupNow("{\"vm\": \"winvm\", \"policy\": \"nightly\", \"full\": true}");
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.stop();
        }
    }

    /** POST /v1/backups with {@code body}, then GET /v1/jobs/{id} until it is complete; returns the backup id. */
    static long backupNow(String body) throws Exception {
        ApiClient.Response r = uds.post("/v1/backups", body);
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        String id = r.json().get("jobs").get(0).get("id").asText();
        JsonNode[] job = new JsonNode[1];
        assertThat(DaemonFixture.await(Duration.ofSeconds(40), () -> {
            try {
                job[0] = uds.get("/v1/jobs/" + id).json();
                return job[0].get("state").asText().equals("complete");
            } catch (Exception e) {
                return false;
            }
        })).as("job %s", id).isTrue();
        assertThat(job[0].get("progress").get("files").asLong()).isGreaterThan(10);
        assertThat(job[0].path("full").asBoolean()).isEqualTo(body.contains("\"full\": true"));
        return job[0].get("backup").asLong();
    }

    private static JsonNode get(String target) throws Exception {
        ApiClient.Response r = uds.get(target);
        assertThat(r.status()).as(target + " -> " + r.text()).isEqualTo(200);
        assertThat(r.headers().get("content-type")).startsWith("application/json");
        return r.json();
    }

    private static HttpResponse<String> tcpGet(String target, String auth) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(tcp + target)).timeout(Duration.ofSeconds(20));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static final List<String> READ_ENDPOINTS = List.of("/v1/health", "/v1/vms", "/v1/backups", "/v1/backups/1",
            "/v1/ls?backup=latest&path=/Documents", "/v1/find?pattern=*.csv", "/v1/find?regex=module0%5B1-3%5D",
            "/v1/stat?backup=latest&path=/Documents/hello.txt", "/v1/history?backup=latest&path=/Documents/hello.txt",
            "/v1/diff?before=1&after=2", "/v1/jobs", "/v1/jobs/j-1", "/metrics");

    @Test
    void socket_isMode0660() throws Exception {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fx.socket))).isEqualTo("rw-rw----");
    }

    @Test
    void everyReadEndpoint_answersOverTheUnixSocket() throws Exception {
        for (String e : READ_ENDPOINTS) {
            assertThat(uds.get(e).status()).as(e).isEqualTo(200);
        }
        JsonNode health = get("/v1/health");
        assertThat(health.get("status").asText()).isEqualTo("ok");
        assertThat(health.get("destination").get("connected").asBoolean()).isTrue();

        JsonNode vms = get("/v1/vms").get("vms");
        assertThat(vms).hasSize(1);
        assertThat(vms.get(0).get("name").asText()).isEqualTo("winvm");
        assertThat(vms.get(0).get("policies").get(0).asText()).isEqualTo("nightly");
        assertThat(vms.get(0).get("latestBackup").get("id").asLong()).isEqualTo(second);

        JsonNode backups = get("/v1/backups").get("backups");
        assertThat(backups).hasSize(2);
        assertThat(backups.get(0).get("state").asText()).isEqualTo("complete");
        JsonNode one = get("/v1/backups/" + first);
        assertThat(one.get("disks").get(0).get("slot").asText()).isEqualTo("scsi0:0");
        assertThat(one.get("disks").get(0).get("volumes").get(0).get("fs").asText()).isEqualToIgnoringCase("ntfs");

        JsonNode diff = get("/v1/diff?before=" + first + "&after=" + second);
        assertThat(diff.get("changes")).as("nothing changed between the two backups").isEmpty();

        JsonNode stat = get("/v1/stat?backup=latest&path=/Documents/hello.txt");
        assertThat(stat.get("size").asLong()).isEqualTo(18);
        assertThat(stat.get("streams").get(0).get("size").asLong()).isEqualTo(18);

        JsonNode history = get("/v1/history?backup=latest&path=/Documents/hello.txt").get("versions");
        assertThat(history).hasSize(1);
        assertThat(history.get(0).get("backups")).hasSize(2);

        JsonNode found = get("/v1/find?pattern=*.csv").get("results");
        assertThat(found).extracting(n -> n.get("path").asText()).containsExactly("/Documents/Reports/q1.csv");
        JsonNode regex = get("/v1/find?regex=module0%5B1-3%5D%5C.dll&backup=" + first).get("results");
        assertThat(regex).hasSize(3);

        JsonNode jobs = get("/v1/jobs").get("jobs");
        assertThat(jobs).hasSizeGreaterThanOrEqualTo(2);
        assertThat(get("/v1/jobs/j-1").get("result").get("files").asLong()).isGreaterThan(10);

        ApiClient.Response metrics = uds.get("/metrics");
        assertThat(metrics.headers().get("content-type")).startsWith("text/plain");
        assertThat(metrics.text()).contains("coffer_jobs{state=\"complete\"}", "coffer_read_bytes_total",
                "coffer_sent_bytes_total", "coffer_dedup_ratio", "coffer_throttle_rate_bytes_per_second",
                "coffer_backups_total{outcome=\"complete\"} 2.0", "coffer_load_utilisation_percent");
    }

    @Test
    void ls_agreesWithTheSleuthKitOnTheSourceDisk() throws Exception {
        Path raw = Fixtures.build("vm-folder", "mbr", "winvm").resolve("disk.raw");
        String inode = Fixtures.run("ifind", "-o", "2048", "-n", "/Documents", raw.toString()).strip();
        Set<String> fls = new TreeSet<>();
        for (String line : Fixtures.run("fls", "-o", "2048", raw.toString(), inode).lines().toList()) {
            String name = line.substring(line.indexOf('\t') + 1);
            if (!name.contains(":")) {
                fls.add(name);
            }
        }
        Set<String> api = new TreeSet<>();
        get("/v1/ls?backup=latest&path=/Documents").get("entries").forEach(n -> api.add(n.get("name").asText()));
        assertThat(api).isEqualTo(fls).contains("hello.txt", "Reports");
    }

    @Test
    void restore_throughTheApi_writesTheFilesTheSleuthKitReads() throws Exception {
        Path to = dir.resolve("restored");
        ApiClient.Response r = uds.post("/v1/restores", "{\"backup\": \"" + second + "\", \"path\": \"/Documents/Reports\","
                + " \"to\": \"" + to + "\"}");
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        String id = r.json().get("id").asText();
        List<String> states = new ArrayList<>();
        JsonNode end = uds.awaitJob(id, 20, j -> states.add(j.get("state").asText()));
        assertThat(end.get("state").asText()).as(end.toString()).isEqualTo("complete");
        assertThat(end.get("result").get("files").asInt()).isEqualTo(2);
        assertThat(end.get("progress").get("bytesDone").asLong()).isEqualTo(end.get("progress").get("bytesTotal").asLong())
                .isEqualTo(1048577 + 18893);
        assertThat(states).last().isEqualTo("complete");
        Path raw = Fixtures.build("vm-folder", "mbr", "winvm").resolve("disk.raw");
        for (String f : List.of("data.bin", "q1.csv")) {
            Path out;
            try (var s = Files.walk(to)) {
                out = s.filter(p -> p.getFileName().toString().equals(f)).findFirst().orElseThrow();
            }
            String inode = Fixtures.run("ifind", "-o", "2048", "-n", "/Documents/Reports/" + f, raw.toString()).strip();
            String icat = Fixtures.run("bash", "-c", "icat -o 2048 '" + raw + "' " + inode + " | md5sum").split(" ")[0];
            assertThat(Fixtures.md5(out)).as(f).isEqualTo(icat);
        }
    }

    @Test
    void jobWait_holdsTheRequestUntilTheJobEnds() throws Exception {
        // a job that is over is answered at once, whatever the wait
        long t0 = System.nanoTime();
        assertThat(get("/v1/jobs/j-1?wait=10000").get("state").asText()).isEqualTo("complete");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        // a restore just asked for (queued or running for a few hundred ms): the one held request comes
        // back with its end, not with the state it had when asked
        Path to = dir.resolve("restored-waited");
        ApiClient.Response r = uds.post("/v1/restores", "{\"backup\": \"" + second + "\", \"path\": \"/Documents/Reports\","
                + " \"to\": \"" + to + "\"}");
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        String id = r.json().get("id").asText();
        JsonNode end = get("/v1/jobs/" + id + "?wait=10000");
        assertThat(end.get("state").asText()).as(end.toString()).isEqualTo("complete");
        assertThat(end.get("result").get("files").asInt()).isEqualTo(2);
        error(uds.get("/v1/jobs/j-1?wait=-1"), 400, "\"wait\" must be from 0 to 10000");
        error(uds.get("/v1/jobs/j-1?wait=10001"), 400, "\"wait\" must be from 0 to 10000");
        error(uds.get("/v1/jobs/j-1?wait=soon"), 400, "\"wait\" must be an integer");
    }

    @Test
    void tcp_answersOnlyWithTheToken() throws Exception {
        for (String e : READ_ENDPOINTS) {
            HttpResponse<String> none = tcpGet(e, null);
            assertThat(none.statusCode()).as(e).isEqualTo(401);
            assertThat(none.body()).contains("\"status\" : 401", "bearer token");
            assertThat(tcpGet(e, "Bearer wrong-" + TOKEN).statusCode()).as(e).isEqualTo(401);
            assertThat(tcpGet(e, "Bearer " + TOKEN.substring(1)).statusCode()).as(e).isEqualTo(401);
            HttpResponse<String> ok = tcpGet(e, "Bearer " + TOKEN);
            assertThat(ok.statusCode()).as(e).isEqualTo(200);
        }
        assertThat(tcpGet("/v1/backups", "Bearer " + TOKEN).body()).isEqualTo(uds.get("/v1/backups").text());
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(tcp + "/v1/reload"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(401);
        HttpResponse<String> reload = http.send(HttpRequest.newBuilder(URI.create(tcp + "/v1/reload"))
                .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(reload.statusCode()).isEqualTo(200);
        assertThat(reload.body()).contains("\"reloaded\" : true");
    }

    @Test
    void reload_overTheSocket_rejectsABadConfigWithFileLineKey_andKeepsRunning() throws Exception {
        String good = Files.readString(fx.config);
        try {
            Files.writeString(fx.config, good.replace("source: live", "source: tape"));
            ApiClient.Response bad = uds.post("/v1/reload", "{}");
            assertThat(bad.status()).isEqualTo(422);
            assertThat(bad.json().get("error").asText())
                    .isEqualTo(fx.config + ":16: policies[0].source: expected storage-snapshot, reflink, vm-snapshot or live, found \"tape\"");
            assertThat(get("/v1/health").get("policies").get(0).asText()).isEqualTo("nightly");
            Files.writeString(fx.config, good.replace("name: nightly", "name: nightly\n    priority: 70"));
            ApiClient.Response ok = uds.post("/v1/reload", "{}");
            assertThat(ok.status()).as(ok.text()).isEqualTo(200);
            assertThat(daemon.config().policies().get(0).priority()).isEqualTo(70);
        } finally {
            Files.writeString(fx.config, good);
            uds.post("/v1/reload", "{}");
        }
    }

    private static void error(ApiClient.Response r, int status, String text) throws Exception {
        assertThat(r.status()).as(r.text()).isEqualTo(status);
        assertThat(r.headers().get("content-type")).startsWith("application/json");
        assertThat(r.json().get("status").asInt()).isEqualTo(status);
        assertThat(r.json().get("error").asText()).contains(text);
    }

    @Test
    void badRequests_getAJsonErrorWithAStatus_andTheDaemonGoesOn() throws Exception {
        error(uds.get("/v2/nothing"), 404, "no such endpoint");
        error(uds.get("/v1/nothing"), 404, "no such endpoint");
        error(uds.get("/v1/jobs/j-999"), 404, "no job j-999");
        error(uds.get("/v1/backups/999"), 404, "no backup 999");
        error(uds.get("/v1/backups/abc"), 400, "a backup id is a number");
        error(uds.get("/v1/ls"), 400, "missing query parameter \"backup\"");
        error(uds.get("/v1/ls?backup=latest&path=/NoSuchDir"), 404, "NoSuchDir");
        error(uds.get("/v1/ls?backup=latest&limit=abc"), 400, "\"limit\" must be an integer");
        error(uds.get("/v1/ls?backup=latest&path=/../etc"), 400, "'..'");
        error(uds.get("/v1/find"), 400, "exactly one of");
        error(uds.get("/v1/find?regex=%5B"), 400, "invalid regex");
        error(uds.get("/v1/stat?backup=latest&path=/Documents/none.txt"), 404, "none.txt");
        error(uds.get("/v1/diff?before=1"), 400, "\"after\"");
        error(uds.send("DELETE", "/v1/backups", new byte[0], Map.of()), 405, "DELETE not allowed");
        error(uds.post("/v1/backups", "{not json"), 400, "malformed JSON");
        error(uds.post("/v1/backups", "[1,2]"), 400, "must be a JSON object");
        error(uds.post("/v1/backups", "{\"vm\": 7}"), 400, "\"vm\" must be a string");
        error(uds.post("/v1/backups", "{\"vm\": \"winvm\", \"full\": \"yes\"}"), 400, "\"full\" must be true or false");
        error(uds.post("/v1/backups", "{\"vm\": \"nobody\"}"), 404, "no VM \"nobody\"");
        error(uds.post("/v1/backups", "{\"policy\": \"nope\"}"), 404, "no policy named \"nope\"");
        error(uds.post("/v1/restores", "{\"backup\": \"latest\"}"), 400, "\"to\" are required");
        error(uds.post("/v1/restores", "{\"backup\": \"latest\", \"to\": \"relative/dir\"}"), 400, "absolute");
        error(uds.post("/v1/restores", "{\"backup\": \"77\", \"to\": \"/tmp/x\"}"), 404, "no backup 77");
        error(uds.get("/v1/ls?backup=latest&path=%ZZ"), 400, "malformed");

        byte[] huge = new byte[(64 << 10) + 1];
        java.util.Arrays.fill(huge, (byte) ' ');
        error(uds.send("POST", "/v1/backups", huge, Map.of("Content-Type", "application/json")), 413, "larger than");
        error(uds.get("/v1/ls?backup=latest&path=/" + "a".repeat(10_000)), 414, "malformed request");
        error(uds.send("GET", "/v1/health", new byte[0], Map.of("X-Big", "b".repeat(20_000))), 431, "malformed request");
        error(uds.raw("THIS IS NOT HTTP\r\n\r\n".getBytes(StandardCharsets.US_ASCII)), 400, "malformed request");
        error(uds.raw(new byte[] {0, 1, 2, 3, '\r', '\n', '\r', '\n'}), 400, "malformed request");

        // a client that sends half a request and stalls is answered 408 and cut off
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(fx.socket));
            c.write(ByteBuffer.wrap("GET /v1/health HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII)));
            long t0 = System.nanoTime();
            ByteBuffer buf = ByteBuffer.allocate(4096);
            List<Byte> got = new ArrayList<>();
            while (c.read(buf.clear()) >= 0) {
                for (int i = 0; i < buf.position(); i++) {
                    got.add(buf.get(i));
                }
            }
            byte[] bytes = new byte[got.size()];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = got.get(i);
            }
            error(ApiClient.parse(bytes), 408, "no complete request within 700 ms");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        }
        // a trickle does not extend the deadline
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", daemon.api().tcpAddress().getPort())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            long t0 = System.nanoTime();
            byte[] req = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII);
            out.write(req);
            try {
                for (int i = 0; i < 20; i++) {
                    Thread.sleep(100);
                    out.write('a');
                }
            } catch (java.io.IOException closed) {
                // the server hung up on us: that is the point
            }
            String answer = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(answer).startsWith("HTTP/1.1 408");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofMillis(1900));
        }
        assertThat(get("/v1/health").get("status").asText()).isEqualTo("ok");
    }
}
