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

        /** The body parsed as JSON (without an object mapper: {@link JsonTrees}). */
        public JsonNode json() throws IOException {
            return JsonTrees.read(body);
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
     * Asks for {@code GET /v1/jobs/{id}?wait=pollMillis} (answered when the job ends, or after
     * {@code pollMillis}) until the job is over (complete, partial, failed or cancelled), handing each
     * answer to {@code progress}; returns the last answer. For a CLI
     * command that asked the daemon to back up or restore and waits like it would for its own work.
     */
    public JsonNode awaitJob(String id, long pollMillis, java.util.function.Consumer<JsonNode> progress)
            throws IOException, InterruptedException {
        while (true) {
            // the agent holds the request until the job ends or pollMillis pass; an agent that answers at
            // once (older, or all its waiting slots taken) is asked again after the rest of the interval
            long asked = System.nanoTime();
            Response r = get("/v1/jobs/" + java.net.URLEncoder.encode(id, StandardCharsets.UTF_8) + "?wait=" + pollMillis);
            if (r.status() != 200) {
                throw new IOException(socket + ": job " + id + ": " + r.text().strip());
            }
            JsonNode j = r.json();
            progress.accept(j);
            switch (j.path("state").asText()) {
                case "complete", "partial", "failed", "cancelled" -> {
                    return j;
                }
                default -> {
                    long left = pollMillis - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - asked);
                    if (left > 0) {
                        Thread.sleep(left);
                    }
                }
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

    /** Longest status line or header line of a streamed answer, and most header lines: as the server's own limits. */
    private static final int MAX_HEAD_LINE = 8192;
    private static final int MAX_HEAD_LINES = 100;

    /**
     * GETs {@code target} and copies a 200 answer's body to {@code out} as it arrives (chunked or with a
     * length; nothing is held in memory beyond one read buffer); returns the bytes copied. Any other
     * status is an IOException with the agent's error. The timeout applies to each read, not to the
     * whole transfer, so a long image streams for as long as it keeps coming. A body cut short (the
     * agent stopped the export) is an IOException, never a silently short copy.
     */
    public long download(String target, java.io.OutputStream out) throws IOException {
        String req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer w = ByteBuffer.wrap(req.getBytes(StandardCharsets.UTF_8));
            while (w.hasRemaining()) {
                c.write(w);
            }
            Reader in = new Reader(c, timeoutMillis);
            String status = in.line();
            String[] parts = status.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
                throw new IOException("not an HTTP answer: \"" + status + "\"");
            }
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 0; ; i++) {
                String h = in.line();
                if (h.isEmpty()) {
                    break;
                }
                if (i >= MAX_HEAD_LINES) {
                    throw new IOException(socket + ": more than " + MAX_HEAD_LINES + " header lines");
                }
                int colon = h.indexOf(':');
                if (colon > 0) {
                    headers.put(h.substring(0, colon).strip().toLowerCase(Locale.ROOT), h.substring(colon + 1).strip());
                }
            }
            boolean chunked = "chunked".equalsIgnoreCase(headers.get("transfer-encoding"));
            if (!parts[1].equals("200")) {
                java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
                copyBody(in, chunked, headers.get("content-length"), err, 1 << 20);
                Response r = new Response(Integer.parseInt(parts[1]), headers, err.toByteArray());
                String msg;
                try {
                    msg = r.json().path("error").asText(r.text().strip());
                } catch (IOException notJson) {
                    msg = r.text().strip();
                }
                throw new IOException(msg);
            }
            return copyBody(in, chunked, headers.get("content-length"), out, Long.MAX_VALUE);
        } catch (java.nio.channels.AsynchronousCloseException e) {
            throw new IOException(socket + ": nothing received for " + timeoutMillis + " ms", e);
        }
    }

    private long copyBody(Reader in, boolean chunked, String contentLength, java.io.OutputStream out, long max)
            throws IOException {
        long total = 0;
        if (!chunked) {
            long len = contentLength == null ? Long.MAX_VALUE : Long.parseLong(contentLength);
            while (total < len) {
                int n = in.copy(out, Math.min(len - total, 1 << 16), contentLength == null);
                if (n < 0) {
                    break;
                }
                total += n;
                if (total > max) {
                    throw new IOException(socket + ": answer larger than " + max + " bytes");
                }
            }
            return total;
        }
        while (true) {
            String size = in.line();
            int semi = size.indexOf(';');
            long n;
            try {
                n = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).strip(), 16);
            } catch (NumberFormatException e) {
                throw new IOException(socket + ": bad chunk size \"" + size + "\" after " + total + " bytes");
            }
            if (n < 0) {
                throw new IOException(socket + ": bad chunk size \"" + size + "\"");
            }
            if (n == 0) {
                while (!in.line().isEmpty()) {
                    // trailers: none expected, skipped
                }
                return total;
            }
            for (long left = n; left > 0; ) {
                int k = in.copy(out, Math.min(left, 1 << 16), false);
                left -= k;
                total += k;
            }
            if (total > max) {
                throw new IOException(socket + ": answer larger than " + max + " bytes");
            }
            if (!in.line().isEmpty()) {
                throw new IOException(socket + ": chunk not followed by CRLF after " + total + " bytes");
            }
        }
    }

    /** Buffered reads from the socket, each read guarded by the timeout. */
    private static final class Reader {
        private final SocketChannel c;
        private final long timeoutMillis;
        private final ByteBuffer buf = ByteBuffer.allocate(64 << 10).flip();

        Reader(SocketChannel c, long timeoutMillis) {
            this.c = c;
            this.timeoutMillis = timeoutMillis;
        }

        /** Fills the buffer when empty; false at end of stream. */
        private boolean fill() throws IOException {
            if (buf.hasRemaining()) {
                return true;
            }
            buf.clear();
            ScheduledFuture<?> guard = TIMER.schedule(() -> {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // closing is the point
                }
            }, timeoutMillis, TimeUnit.MILLISECONDS);
            int n;
            try {
                n = c.read(buf);
            } finally {
                guard.cancel(false);
                buf.flip();
            }
            return n > 0;
        }

        String line() throws IOException {
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (!fill()) {
                    throw new IOException("the agent closed the connection in the middle of an answer");
                }
                byte b = buf.get();
                if (b == '\n') {
                    int len = sb.length();
                    return len > 0 && sb.charAt(len - 1) == '\r' ? sb.substring(0, len - 1) : sb.toString();
                }
                if (sb.length() >= MAX_HEAD_LINE) {
                    throw new IOException("a line of the answer is longer than " + MAX_HEAD_LINE + " bytes");
                }
                sb.append((char) (b & 0xff));
            }
        }

        /** Copies up to {@code max} bytes; -1 at end of stream when {@code eofOk}, else an IOException. */
        int copy(java.io.OutputStream out, long max, boolean eofOk) throws IOException {
            if (!fill()) {
                if (eofOk) {
                    return -1;
                }
                throw new IOException("the agent closed the connection before the end of the answer");
            }
            int n = (int) Math.min(max, buf.remaining());
            out.write(buf.array(), buf.arrayOffset() + buf.position(), n);
            buf.position(buf.position() + n);
            return n;
        }
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
