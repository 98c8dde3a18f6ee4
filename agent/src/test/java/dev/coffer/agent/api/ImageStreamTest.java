package dev.coffer.agent.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.agent.daemon.AgentDaemon;
import dev.coffer.agent.daemon.DaemonFixture;
import dev.coffer.agent.daemon.DaemonOptions;
import dev.coffer.testkit.Fixtures;
import java.io.OutputStream;
import java.io.RandomAccessFile;
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
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /v1/backups/{id}/disks/{n}/image} on a real daemon: the streamed raw image equals the
 * source disk ({@code qemu-img convert -O raw} of the VMDK) in every allocated NTFS cluster ({@code
 * blkls -a}) and everywhere outside NTFS; the vmdk-stream image (over TCP with the token) is one qemu-img
 * checks and finds identical to it; a slow reader gets the first bytes while the export still runs,
 * holds bounded memory in the daemon, and stops the export by going away.
 */
class ImageStreamTest {
    private static final String TOKEN = "s3cret-token";
    @TempDir
    static Path dir;
    static DaemonFixture fx;
    static AgentDaemon daemon;
    static ApiClient uds;
    static long backup;
    static JsonNode disk;
    /** The source disk as qemu-img reads it. */
    static Path source;

    @BeforeAll
    static void start() throws Exception {
        fx = new DaemonFixture(dir);
        fx.writeConfig("  listen: 127.0.0.1:0\n  token_file: query.token\n", "");
        daemon = new AgentDaemon(fx.config, DaemonOptions.defaults().withPeriods(50, 100), Clock.systemUTC());
        daemon.start();
        uds = new ApiClient(fx.socket, 30_000);
        ApiClient.Response r = uds.post("/v1/backups", "{\"vm\": \"winvm\"}");
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        JsonNode end = uds.awaitJob(r.json().get("jobs").get(0).get("id").asText(), 50, j -> { });
        assertThat(end.get("state").asText()).as(end.toString()).isEqualTo("complete");
        backup = end.get("backup").asLong();
        disk = uds.get("/v1/backups/" + backup).json().get("disks").get(0);
        source = dir.resolve("source.raw");
        Fixtures.run("qemu-img", "convert", "-O", "raw", fx.datastore.resolve("winvm/winvm.vmdk").toString(),
                source.toString());
    }

    @AfterAll
    static void stop() {
        if (daemon != null) {
            daemon.stop();
        }
    }

    /** Waits until the daemon reports {@code n} image streams running. */
    static boolean awaitActiveStreams(int n, Duration within) throws InterruptedException {
        return DaemonFixture.await(within, () -> {
            try {
                return metric("coffer_image_streams_active") == n;
            } catch (Exception e) {
                return false;
            }
        });
    }

    static double metric(String name) throws Exception {
        for (String line : uds.get("/metrics").text().split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1).strip());
            }
        }
        throw new AssertionError("no metric " + name);
    }

    @Test
    void rawImage_overTheUnixSocket_equalsTheSourceDisk() throws Exception {
        Path raw = dir.resolve("streamed.raw");
        long n;
        try (OutputStream out = Files.newOutputStream(raw)) {
            n = uds.download("/v1/backups/" + backup + "/disks/scsi0:0/image?format=raw", out);
        }
        assertThat(n).isEqualTo(disk.get("capacityBytes").asLong()).isEqualTo(Files.size(source));
        assertMatchesSource(raw);
        // by index and by name of the latest backup: the same bytes
        Path again = dir.resolve("again.raw");
        try (OutputStream out = Files.newOutputStream(again)) {
            uds.download("/v1/backups/winvm@latest/disks/0/image", out);
        }
        assertThat(Fixtures.md5(again)).isEqualTo(Fixtures.md5(raw));
        // a monolithicSparse VMDK of the same disk, streamed too: qemu-img reads it as the same image
        Path sparse = dir.resolve("streamed-sparse.vmdk");
        try (OutputStream out = Files.newOutputStream(sparse)) {
            uds.download("/v1/backups/" + backup + "/disks/0/image?format=vmdk-sparse", out);
        }
        assertThat(Fixtures.run("qemu-img", "info", sparse.toString())).contains("create type: monolithicSparse");
        Fixtures.run("qemu-img", "check", sparse.toString());
        assertThat(Fixtures.run("qemu-img", "compare", "-f", "vmdk", "-F", "raw", sparse.toString(), raw.toString()))
                .contains("Images are identical");
        assertThat(Files.size(sparse)).isLessThan(Files.size(raw) / 4);
    }

    @Test
    void vmdkStream_overTcpWithTheToken_isAStreamOptimizedVmdkOfTheSameDisk() throws Exception {
        String base = "http://127.0.0.1:" + daemon.api().tcpAddress().getPort();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        URI uri = URI.create(base + "/v1/backups/" + backup + "/disks/scsi0:0/image?format=vmdk-stream");
        assertThat(http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                .isEqualTo(401);
        Path vmdk = dir.resolve("streamed.vmdk");
        HttpResponse<Path> r = http.send(HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + TOKEN).build(),
                HttpResponse.BodyHandlers.ofFile(vmdk));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("transfer-encoding")).hasValue("chunked");
        assertThat(r.headers().firstValue("content-type")).hasValue("application/octet-stream");
        assertThat(Fixtures.run("qemu-img", "info", vmdk.toString())).contains("create type: streamOptimized");
        Fixtures.run("qemu-img", "check", vmdk.toString());
        Path converted = dir.resolve("from-vmdk.raw");
        Fixtures.run("qemu-img", "convert", "-f", "vmdk", "-O", "raw", vmdk.toString(), converted.toString());
        assertMatchesSource(converted);
        // raw over TCP too, and qemu-img compares the two images itself
        Path raw = dir.resolve("tcp.raw");
        HttpResponse<Path> rr = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/backups/" + backup
                + "/disks/0/image")).header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofFile(raw));
        assertThat(rr.statusCode()).isEqualTo(200);
        assertThat(Fixtures.run("qemu-img", "compare", "-f", "vmdk", "-F", "raw", vmdk.toString(), raw.toString()))
                .contains("Images are identical");
        assertThat(Files.size(vmdk)).isLessThan(Files.size(raw) / 4);
    }

    @Test
    void slowReader_getsTheFirstBytesAtOnce_boundsTheDaemonsMemory_andStopsTheExportByLeaving() throws Exception {
        long capacity = disk.get("capacityBytes").asLong();
        double sentBefore = metric("coffer_image_stream_bytes_total");
        double abortedBefore = metric("coffer_image_streams_aborted_total");
        long received = 0;
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(fx.socket));
            long t0 = System.nanoTime();
            c.write(ByteBuffer.wrap(("GET /v1/backups/" + backup + "/disks/0/image?format=raw HTTP/1.1\r\nHost: x\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII)));
            ByteBuffer buf = ByteBuffer.allocate(64 << 10);
            StringBuilder head = new StringBuilder();
            while (received < (256 << 10)) {
                int k = c.read(buf.clear());
                assertThat(k).isPositive();
                if (head.length() < 200) {
                    head.append(new String(buf.array(), 0, Math.min(k, 200), StandardCharsets.ISO_8859_1));
                }
                received += k;
            }
            double firstBytesSeconds = (System.nanoTime() - t0) / 1e9;
            assertThat(head.toString()).startsWith("HTTP/1.1 200 OK").contains("transfer-encoding: chunked");
            // the first bytes came while the export was still running: nothing was materialised first
            assertThat(metric("coffer_image_streams_active")).isEqualTo(1.0);
            assertThat(firstBytesSeconds).isLessThan(10);

            // a reader that reads nothing for a while: the export waits instead of buffering the disk
            Thread.sleep(1500);
            double sent = metric("coffer_image_stream_bytes_total") - sentBefore;
            assertThat(sent - received).as("bytes sent but not yet read").isLessThan(8 << 20);
            assertThat(sent).isLessThan(capacity / 4);
            assertThat(metric("coffer_image_stream_pending_max_bytes"))
                    .isLessThanOrEqualTo(ImageStreams.HIGH_WATER_BYTES + ImageStreams.CHUNK_BYTES + 4096);

            // it reads on, slowly: the export follows at the reader's pace
            for (int i = 0; i < 20; i++) {
                int k = c.read(buf.clear());
                assertThat(k).isPositive();
                received += k;
                Thread.sleep(20);
            }
            assertThat(metric("coffer_image_streams_active")).isEqualTo(1.0);
        }
        // the reader went away: the export stops
        assertThat(awaitActiveStreams(0, Duration.ofSeconds(10))).isTrue();
        assertThat(metric("coffer_image_streams_aborted_total")).isEqualTo(abortedBefore + 1);
        double sentTotal = metric("coffer_image_stream_bytes_total") - sentBefore;
        Thread.sleep(300);
        assertThat(metric("coffer_image_stream_bytes_total") - sentBefore).isEqualTo(sentTotal).isLessThan(capacity / 4.0);
    }

    @Test
    void aThirdStream_whileTwoRun_isAnswered503() throws Exception {
        List<SocketChannel> open = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < ImageStreams.MAX_STREAMS; i++) {
                SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
                open.add(c);
                c.connect(UnixDomainSocketAddress.of(fx.socket));
                c.write(ByteBuffer.wrap(("GET /v1/backups/" + backup + "/disks/0/image HTTP/1.1\r\nHost: x\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII)));
                assertThat(c.read(ByteBuffer.allocate(4096))).isPositive(); // its head: the export runs and waits for us
            }
            assertThat(awaitActiveStreams(ImageStreams.MAX_STREAMS, Duration.ofSeconds(5))).isTrue();
            ApiClient.Response r = uds.get("/v1/backups/" + backup + "/disks/0/image");
            assertThat(r.status()).as(r.text()).isEqualTo(503);
            assertThat(r.json().get("error").asText()).contains("busy");
        } finally {
            for (SocketChannel c : open) {
                c.close();
            }
        }
        assertThat(awaitActiveStreams(0, Duration.ofSeconds(10))).isTrue();
        assertThat(uds.download("/v1/backups/" + backup + "/disks/0/image?format=vmdk-stream",
                java.io.OutputStream.nullOutputStream())).isPositive();
    }

    @Test
    void badImageRequests_getJsonErrors() throws Exception {
        Map<String, Integer> cases = Map.of(
                "/v1/backups/" + backup + "/disks/0/image?format=qcow2", 400,
                "/v1/backups/" + backup + "/disks/7/image", 404,
                "/v1/backups/" + backup + "/disks/ide9:9/image", 404,
                "/v1/backups/999/disks/0/image", 404);
        for (var e : cases.entrySet()) {
            ApiClient.Response r = uds.get(e.getKey());
            assertThat(r.status()).as(e.getKey() + " " + r.text()).isEqualTo(e.getValue());
            assertThat(r.json().get("error").asText()).isNotBlank();
        }
        assertThat(uds.post("/v1/backups/" + backup + "/disks/0/image", "{}").status()).isEqualTo(405);
    }

    @Test
    void restoreRequests_areCheckedBeforeAJobIsMade() throws Exception {
        Map<String, String> cases = Map.of(
                "{\"backup\": \"latest\", \"to\": \"/tmp/x\", \"stream\": true}", "unknown key \"stream\"",
                "{\"backup\": \"latest\", \"to\": \"http://127.0.0.1:9\"}", "targetToken",
                "{\"backup\": \"latest\", \"to\": \"/tmp/x\", \"workers\": 1000}", "workers",
                "{\"backup\": \"latest\", \"to\": \"/tmp/x\", \"existing\": \"merge\"}", "existing",
                "{\"backup\": \"latest\", \"to\": \"/tmp/x.img\", \"disk\": \"0\", \"format\": \"qcow2\"}", "format",
                "{\"backup\": \"latest\", \"to\": \"/tmp/x.img\", \"disk\": 5}", "has no disk 5",
                "{\"backup\": \"latest\", \"to\": \"/tmp/x\", \"format\": \"raw\"}", "for disk restores",
                "{\"backup\": \"latest\", \"to\": \"http://127.0.0.1:9\", \"targetToken\": \"t\", \"directIo\": true}",
                "\"directIo\" is for files restored into a directory",
                "{\"backup\": \"latest\", \"path\": \"/Documents/nope.txt:s\", \"to\": \"/tmp/x\"}", "no /Documents/nope.txt");
        for (var e : cases.entrySet()) {
            ApiClient.Response r = uds.post("/v1/restores", e.getKey());
            assertThat(r.status()).as(e.getKey() + " " + r.text()).isIn(400, 404);
            assertThat(r.json().get("error").asText()).as(e.getKey()).contains(e.getValue());
        }
    }

    @Test
    void diskRestoreJob_writesAnImageQemuImgReads() throws Exception {
        Path out = dir.resolve("jobs/disk.vmdk");
        ApiClient.Response r = uds.post("/v1/restores", "{\"backup\": \"" + backup + "\", \"disk\": 0, \"format\":"
                + " \"vmdk-stream\", \"to\": \"" + out + "\"}");
        assertThat(r.status()).as(r.text()).isEqualTo(202);
        JsonNode end = uds.awaitJob(r.json().get("id").asText(), 50, j -> { });
        assertThat(end.get("state").asText()).as(end.toString()).isEqualTo("complete");
        assertThat(end.get("result").get("bytesWritten").asLong()).isEqualTo(Files.size(out));
        assertThat(end.get("progress").get("bytesDone").asLong()).isEqualTo(Files.size(out));
        Path converted = dir.resolve("jobs/disk.raw");
        Fixtures.run("qemu-img", "convert", "-f", "vmdk", "-O", "raw", out.toString(), converted.toString());
        assertMatchesSource(converted);
    }

    /** {@code image} holds the source's bytes in every allocated NTFS cluster and everywhere outside NTFS volumes. */
    static void assertMatchesSource(Path image) throws Exception {
        assertThat(Files.size(image)).isEqualTo(Files.size(source));
        long prev = 0;
        int ntfs = 0;
        for (JsonNode v : disk.get("volumes")) {
            if (!v.get("fs").asText().equalsIgnoreCase("ntfs")) {
                continue;
            }
            ntfs++;
            long off = v.get("offsetBytes").asLong();
            long sector = off / 512;
            String a = Fixtures.run("bash", "-c", "blkls -a -o " + sector + " '" + source + "' | md5sum");
            String b = Fixtures.run("bash", "-c", "blkls -a -o " + sector + " '" + image + "' | md5sum");
            assertThat(b).as("allocated clusters of the NTFS volume at sector " + sector).isEqualTo(a);
            assertRangeEqual(image, prev, off);
            prev = off + v.get("lengthBytes").asLong();
        }
        assertThat(ntfs).isEqualTo(1);
        assertRangeEqual(image, prev, Files.size(source));
    }

    static void assertRangeEqual(Path image, long from, long to) throws Exception {
        try (RandomAccessFile a = new RandomAccessFile(source.toFile(), "r");
                RandomAccessFile b = new RandomAccessFile(image.toFile(), "r")) {
            byte[] x = new byte[1 << 20];
            byte[] y = new byte[1 << 20];
            for (long at = from; at < to; ) {
                int n = (int) Math.min(x.length, to - at);
                a.seek(at);
                a.readFully(x, 0, n);
                b.seek(at);
                b.readFully(y, 0, n);
                if (!java.util.Arrays.equals(x, 0, n, y, 0, n)) {
                    throw new AssertionError("image differs from the source in [" + at + ", " + (at + n) + ")");
                }
                at += n;
            }
        }
    }
}
