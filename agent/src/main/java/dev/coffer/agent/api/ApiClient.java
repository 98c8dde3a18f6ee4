package dev.coffer.agent.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A small HTTP/1.1 client of the daemon's Unix socket, for the CLI and the tests: one request per
 * connection ({@code Connection: close}), the answer read whole up to {@link #MAX_RESPONSE_BYTES}.
 */
public final class ApiClient {
    /** Largest answer read: 256 MiB (a 100,000-entry listing is a few tens of MiB of JSON). */
    public static final int MAX_RESPONSE_BYTES = 256 << 20;
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "coffer-api-client-timer");
        t.setDaemon(true);
        return t;
    });

    /** An answer: HTTP status, headers (lower-case names) and body. */
    public record Response(int status, Map<String, String> headers, byte[] body) {
        /** The body as UTF-8 text. */
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** The body parsed as JSON. */
        public JsonNode json() throws IOException {
            return ApiHandler.JSON.readTree(body);
        }
    }

    private final Path socket;
    private final long timeoutMillis;

    /** A client of the daemon listening on {@code socket}; each request must finish within {@code timeoutMillis}. */
    public ApiClient(Path socket, long timeoutMillis) {
        this.socket = socket;
        this.timeoutMillis = timeoutMillis;
    }

    /** A client when a daemon answers on {@code socket}, else empty (the CLI then reads the catalog itself). */
    public static Optional<ApiClient> ifRunning(Path socket) {
        if (!Files.exists(socket)) {
            return Optional.empty();
        }
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(socket));
            return Optional.of(new ApiClient(socket, 60_000));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** GET {@code target} (path and query, already percent-encoded). */
    public Response get(String target) throws IOException {
        return send("GET", target, new byte[0], Map.of());
    }

    /** POST a JSON body to {@code target}. */
    public Response post(String target, String json) throws IOException {
        return send("POST", target, json.getBytes(StandardCharsets.UTF_8), Map.of("Content-Type", "application/json"));
    }

    /**
     * Polls {@code GET /v1/jobs/{id}} every {@code pollMillis} until the job is over (complete, partial,
     * failed or cancelled), handing each answer to {@code progress}; returns the last answer. For a CLI
     * command that asked the daemon to back up or restore and waits like it would for its own work.
     */
    public JsonNode awaitJob(String id, long pollMillis, java.util.function.Consumer<JsonNode> progress)
            throws IOException, InterruptedException {
        while (true) {
            Response r = get("/v1/jobs/" + java.net.URLEncoder.encode(id, StandardCharsets.UTF_8));
            if (r.status() != 200) {
                throw new IOException(socket + ": job " + id + ": " + r.text().strip());
            }
            JsonNode j = r.json();
            progress.accept(j);
            switch (j.path("state").asText()) {
                case "complete", "partial", "failed", "cancelled" -> {
                    return j;
                }
                default -> Thread.sleep(pollMillis);
            }
        }
    }

    /** Sends one request and reads the whole answer. */
    public Response send(String method, String target, byte[] body, Map<String, String> headers) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        headers.forEach((k, v) -> sb.append(k).append(": ").append(v).append("\r\n"));
        sb.append("Content-Length: ").append(body.length).append("\r\n\r\n");
        byte[] head = sb.toString().getBytes(StandardCharsets.UTF_8);
        return exchange(ByteBuffer.allocate(head.length + body.length).put(head).put(body).flip());
    }

    /** Sends raw bytes (tests of malformed requests) and reads the answer. */
    public Response raw(byte[] request) throws IOException {
        return exchange(ByteBuffer.wrap(request));
    }

    private Response exchange(ByteBuffer request) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ScheduledFuture<?> guard = TIMER.schedule(() -> {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // closing is the point
                }
            }, timeoutMillis, TimeUnit.MILLISECONDS);
            try {
                c.connect(UnixDomainSocketAddress.of(socket));
                while (request.hasRemaining()) {
                    c.write(request);
                }
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                ByteBuffer buf = ByteBuffer.allocate(64 << 10);
                while (c.read(buf.clear()) >= 0) {
                    out.write(buf.array(), 0, buf.position());
                    if (out.size() > MAX_RESPONSE_BYTES) {
                        throw new IOException(socket + ": answer larger than " + MAX_RESPONSE_BYTES + " bytes");
                    }
                }
                return parse(out.toByteArray());
            } catch (java.nio.channels.AsynchronousCloseException e) {
                throw new IOException(socket + ": no answer within " + timeoutMillis + " ms", e);
            } finally {
                guard.cancel(false);
            }
        }
    }

    static Response parse(byte[] raw) throws IOException {
        int end = -1;
        for (int i = 0; i + 3 < raw.length; i++) {
            if (raw[i] == '\r' && raw[i + 1] == '\n' && raw[i + 2] == '\r' && raw[i + 3] == '\n') {
                end = i;
                break;
            }
        }
        if (end < 0) {
            throw new IOException("the agent closed the connection without a complete answer (" + raw.length + " bytes)");
        }
        String[] lines = new String(raw, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
        String[] status = lines[0].split(" ", 3);
        if (status.length < 2 || !status[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP answer: \"" + lines[0] + "\"");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).strip());
            }
        }
        int bodyStart = end + 4;
        int len = raw.length - bodyStart;
        String cl = headers.get("content-length");
        if (cl != null) {
            len = Math.min(len, Integer.parseInt(cl));
        }
        byte[] body = java.util.Arrays.copyOfRange(raw, bodyStart, bodyStart + len);
        try {
            return new Response(Integer.parseInt(status[1]), headers, body);
        } catch (NumberFormatException e) {
            throw new IOException("not an HTTP status: \"" + lines[0] + "\"", e);
        }
    }
}
