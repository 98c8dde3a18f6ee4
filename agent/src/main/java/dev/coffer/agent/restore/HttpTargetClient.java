package dev.coffer.agent.restore;

import dev.coffer.dedup.BlockHasher;
import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.agent.restore.RestoreException.Code;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link RestoreTarget} that sends files to a restore-target server ({@code coffer target}) over
 * HTTP/1.1, with the protocol of {@code docs/restore-target.md}.
 *
 * <p>Connections are kept alive and pooled by the JDK client: each concurrent caller uses its own
 * connection, so N upload workers keep N requests in flight (requests are not pipelined on one
 * connection). A request that fails to connect, loses its connection or gets 503 is retried with
 * exponential backoff up to {@link Options#maxAttempts}; then the failure is reported as
 * {@code UNAVAILABLE}. When the server no longer knows an upload (it was restarted), the upload is
 * begun again, which resumes from the server's verified ranges, and the request is repeated.
 * Thread-safe.
 */
public final class HttpTargetClient implements RestoreTarget {
    private static final Logger log = LoggerFactory.getLogger(HttpTargetClient.class);

    /**
     * Knobs of the client.
     *
     * @param maxAttempts tries per request before reporting the target unavailable
     * @param initialBackoff wait after the first failure; doubled after each further one
     * @param maxBackoff longest wait between two tries
     * @param requestTimeout longest wait for one reply
     * @param connectTimeout longest wait for a connection
     * @param sendChunkHashes send each chunk's SHA-256 in {@code X-Coffer-Sha256} for the server
     *     to check (costs a SHA-256 pass on both sides; the whole file is checked at commit anyway)
     */
    public record Options(int maxAttempts, Duration initialBackoff, Duration maxBackoff, Duration requestTimeout,
            Duration connectTimeout, boolean sendChunkHashes) {
        /**
         * Defaults: 10 tries from 100 ms doubling to at most 5 s (about 25 s in all, enough for a
         * target process to be restarted by its supervisor); 60 s per reply (a commit hashes and
         * fsyncs up to a whole file); 5 s to connect; no per-chunk hashes.
         */
        public static Options defaults() {
            return new Options(10, Duration.ofMillis(100), Duration.ofSeconds(5), Duration.ofSeconds(60),
                    Duration.ofSeconds(5), false);
        }
    }

    private final URI base;
    private final String authorization;
    private final Options options;
    private final HttpClient http;

    /** A client of the server at {@code base} (e.g. {@code http://10.0.0.5:8470}) with bearer {@code token}. */
    public HttpTargetClient(URI base, String token, Options options) {
        String b = base.toString();
        this.base = URI.create(b.endsWith("/") ? b.substring(0, b.length() - 1) : b);
        this.authorization = "Bearer " + token;
        this.options = options;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(options.connectTimeout())
                .build();
    }

    @Override
    public Upload begin(RestoreFile file) throws RestoreException {
        HttpResponse<byte[]> r = send("POST", fileUri(file.path(), file.stream(), "/begin", ""),
                HttpRequest.BodyPublishers.ofByteArray(WireFormat.bytes(WireFormat.fileJson(file))), null,
                "begin " + file.displayName());
        return WireFormat.parseUpload(file, r.body());
    }

    @Override
    public void write(Upload upload, long offset, ByteBuffer data) throws RestoreException {
        if (upload.skip()) {
            throw new RestoreException(Code.BAD_REQUEST, "write to skipped file " + upload.targetPath());
        }
        if (data.remaining() > MAX_CHUNK_BYTES) {
            throw new RestoreException(Code.LIMIT_EXCEEDED, "chunk of " + data.remaining() + " bytes at offset "
                    + offset + " of " + upload.targetPath() + " exceeds " + MAX_CHUNK_BYTES);
        }
        HttpRequest.BodyPublisher body;
        if (data.hasArray()) {
            body = HttpRequest.BodyPublishers.ofByteArray(data.array(), data.arrayOffset() + data.position(), data.remaining());
        } else {
            byte[] copy = new byte[data.remaining()];
            data.duplicate().get(copy);
            body = HttpRequest.BodyPublishers.ofByteArray(copy);
        }
        String chunkHash = options.sendChunkHashes() ? HexFormat.of().formatHex(BlockHasher.forThread().sha256(data)) : null;
        RestoreFile f = upload.file();
        URI uri = fileUri(f.path(), f.stream(), "", "offset=" + offset);
        String what = "write of " + data.remaining() + " bytes at offset " + offset + " of " + f.displayName();
        try {
            send("PUT", uri, body, chunkHash, what);
        } catch (RestoreException e) {
            if (e.code() != Code.UNKNOWN_UPLOAD) {
                throw e;
            }
            log.info("restore target forgot upload, beginning again file={}", f.displayName());
            begin(f);
            send("PUT", uri, body, chunkHash, what);
        }
    }

    @Override
    public CommitResult commit(Upload upload) throws RestoreException {
        if (upload.skip()) {
            return new CommitResult(CommitResult.Outcome.SKIPPED, upload.targetPath(), upload.mappings(),
                    CommitResult.Metadata.NONE);
        }
        RestoreFile f = upload.file();
        URI uri = fileUri(f.path(), f.stream(), "/commit", "");
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.ofByteArray(WireFormat.bytes(WireFormat.fileJson(f)));
        HttpResponse<byte[]> r;
        try {
            r = send("POST", uri, body, null, "commit of " + f.displayName());
        } catch (RestoreException e) {
            if (e.code() != Code.UNKNOWN_UPLOAD) {
                throw e;
            }
            Upload again = begin(f);
            if (again.skip()) {
                return commit(again);
            }
            r = send("POST", uri, body, null, "commit of " + f.displayName());
        }
        return WireFormat.parseCommit(r.body());
    }

    @Override
    public void abort(Upload upload) throws RestoreException {
        RestoreFile f = upload.file();
        send("POST", fileUri(f.path(), f.stream(), "/abort", ""), HttpRequest.BodyPublishers.noBody(), null,
                "abort of " + f.displayName());
    }

    @Override
    public List<ByteRange> status(RestoreFile file) throws RestoreException {
        HttpResponse<byte[]> r = send("GET", fileUri(file.path(), file.stream(), "/status",
                "size=" + file.size() + "&sha256=" + HexFormat.of().formatHex(file.sha256())
                        + "&blockBytes=" + file.blockBytes()), null, null,
                "status of " + file.displayName());
        JsonNode n = WireFormat.parse(r.body());
        return WireFormat.parseRanges(n.get("verified"), file.size());
    }

    /** Asks {@code /v1/health}; returns the protocol version the server speaks. */
    public int health() throws RestoreException {
        HttpResponse<byte[]> r = send("GET", URI.create(base + "/v1/health"), null, null, "health check");
        return WireFormat.parse(r.body()).path("protocol").asInt(-1);
    }

    @Override
    public void close() {
        // The JDK client (Java 17) has no close; its pooled connections time out on their own.
    }

    private URI fileUri(List<String> path, String stream, String action, String query) {
        StringBuilder q = new StringBuilder(query);
        if (stream != null) {
            q.append(q.length() == 0 ? "" : "&").append("stream=").append(PathCodec.encode(stream));
        }
        return URI.create(base + TargetHttpHandler.FILES + PathCodec.encodePath(path) + action
                + (q.length() == 0 ? "" : "?" + q));
    }

    /** Sends one request, retrying transport failures and 503 with backoff; maps error replies to exceptions. */
    private HttpResponse<byte[]> send(String method, URI uri, HttpRequest.BodyPublisher body, String chunkHash, String what)
            throws RestoreException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .timeout(options.requestTimeout())
                .header("Authorization", authorization)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : body);
        if (body != null) {
            b.header("Content-Type", method.equals("PUT") ? "application/octet-stream" : "application/json");
        }
        if (chunkHash != null) {
            b.header(TargetHttpHandler.CHUNK_SHA256_HEADER, chunkHash);
        }
        HttpRequest req = b.build();
        long backoff = options.initialBackoff().toMillis();
        String last = null;
        long started = System.nanoTime();
        for (int attempt = 1; attempt <= options.maxAttempts(); attempt++) {
            HttpResponse<byte[]> r = null;
            try {
                r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RestoreException(Code.UNAVAILABLE, what + " at " + base + ": interrupted", e);
            }
            if (r != null) {
                if (r.statusCode() < 300) {
                    return r;
                }
                RestoreException e = remoteError(r, what);
                if (e.code() != Code.UNAVAILABLE) {
                    throw e;
                }
                last = e.getMessage();
            }
            if (attempt < options.maxAttempts()) {
                log.debug("restore target retry what={} attempt={} backoffMs={} error={}", what, attempt, backoff, last);
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new RestoreException(Code.UNAVAILABLE, what + " at " + base + ": interrupted", e);
                }
                backoff = Math.min(backoff * 2, options.maxBackoff().toMillis());
            }
        }
        long ms = (System.nanoTime() - started) / 1_000_000;
        log.warn("restore target unreachable base={} what={} attempts={} ms={}", base, what, options.maxAttempts(), ms);
        throw new RestoreException(Code.UNAVAILABLE, what + ": restore target " + base + " unreachable after "
                + options.maxAttempts() + " attempts in " + ms + " ms; last error: " + last);
    }

    private RestoreException remoteError(HttpResponse<byte[]> r, String what) {
        Code code = null;
        String message = null;
        try {
            JsonNode n = WireFormat.parse(r.body());
            code = Code.fromWire(n.path("code").asText());
            message = n.path("error").asText(null);
        } catch (RestoreException e) {
            // not our JSON (a proxy?): fall back to the status
        }
        if (code == null) {
            code = switch (r.statusCode()) {
                case 401 -> Code.UNAUTHORIZED;
                case 404 -> Code.NOT_FOUND;
                case 409 -> Code.CONFLICT;
                case 413 -> Code.LIMIT_EXCEEDED;
                case 502, 503, 504 -> Code.UNAVAILABLE;
                default -> r.statusCode() < 500 ? Code.BAD_REQUEST : Code.IO_ERROR;
            };
        }
        return new RestoreException(code, what + ": restore target " + base + " answered " + r.statusCode() + ": "
                + (message != null ? message : "(no message)"));
    }
}
