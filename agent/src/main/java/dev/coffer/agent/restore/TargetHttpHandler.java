package dev.coffer.agent.restore;

import dev.coffer.dedup.BlockHasher;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.agent.restore.RestoreException.Code;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the restore-target endpoints for one connection: routes each aggregated request, runs its
 * file work on the file executor, and answers in request order. While a request is being served
 * the connection does not read (autoRead off); requests the decoder had already buffered
 * (pipelining) wait in a small queue. Per channel, not sharable; every request buffer is released.
 */
final class TargetHttpHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(TargetHttpHandler.class);
    /** Pipelined requests held while one is served; the socket is not read meanwhile, so only what one read brought in. */
    static final int MAX_QUEUED_REQUESTS = 64;
    static final String FILES = "/v1/files/";
    static final String CHUNK_SHA256_HEADER = "X-Coffer-Sha256";

    private final DirectoryTarget target;
    private final Executor files;
    /** Event-loop confined. */
    private final ArrayDeque<FullHttpRequest> queued = new ArrayDeque<>();
    private boolean busy;
    private boolean inactive;

    TargetHttpHandler(DirectoryTarget target, Executor files) {
        this.target = target;
        this.files = files;
    }

    /** A reply: status and JSON body (null for 204). */
    private record Reply(HttpResponseStatus status, byte[] body) {}

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (busy) {
            if (queued.size() >= MAX_QUEUED_REQUESTS) {
                req.release();
                ctx.close();
                return;
            }
            queued.add(req);
            return;
        }
        dispatch(ctx, req);
    }

    private void dispatch(ChannelHandlerContext ctx, FullHttpRequest req) {
        busy = true;
        ctx.channel().config().setAutoRead(false);
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        if (!req.decoderResult().isSuccess()) {
            req.release();
            finish(ctx, error(new RestoreException(Code.BAD_REQUEST, "malformed HTTP request: "
                    + req.decoderResult().cause())), false);
            return;
        }
        try {
            files.execute(() -> {
                Reply r;
                try {
                    r = serve(req);
                } catch (RestoreException e) {
                    r = error(e);
                } catch (RuntimeException | Error e) {
                    // Whatever went wrong, the client gets an answer: a request left unanswered would stall the connection.
                    log.error("restore target request failed uri={} error={}", req.uri(), e.toString(), e);
                    r = error(new RestoreException(Code.IO_ERROR, "internal error: " + e));
                } finally {
                    req.release();
                }
                Reply reply = r;
                ctx.executor().execute(() -> finish(ctx, reply, keepAlive));
            });
        } catch (RejectedExecutionException e) {
            req.release();
            finish(ctx, error(new RestoreException(Code.UNAVAILABLE, "restore target is shutting down")), false);
        }
    }

    /** Writes the reply (on the event loop), then serves the next queued request or resumes reading. */
    private void finish(ChannelHandlerContext ctx, Reply r, boolean keepAlive) {
        FullHttpResponse res;
        if (r.body() == null) {
            res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, r.status(), Unpooled.EMPTY_BUFFER);
        } else {
            res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, r.status(), Unpooled.wrappedBuffer(r.body()));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        }
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body() == null ? 0 : r.body().length);
        if (!keepAlive) {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            busy = false;
            releaseQueued();
            return;
        }
        ctx.writeAndFlush(res);
        busy = false;
        if (inactive) {
            releaseQueued();
            return;
        }
        FullHttpRequest next = queued.poll();
        if (next != null) {
            dispatch(ctx, next);
        } else {
            ctx.channel().config().setAutoRead(true);
        }
    }

    private void releaseQueued() {
        FullHttpRequest q;
        while ((q = queued.poll()) != null) {
            q.release();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        inactive = true;
        releaseQueued();
        super.channelInactive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            if (!busy) {
                log.debug("restore target closing idle connection remote={}", ctx.channel().remoteAddress());
                ctx.close();
            }
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("restore target connection error remote={} error={}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    /** Routes and serves one request; runs on the file executor. */
    private Reply serve(FullHttpRequest req) throws RestoreException {
        String uri = req.uri();
        int q = uri.indexOf('?');
        String rawPath = q < 0 ? uri : uri.substring(0, q);
        Map<String, String> query = query(q < 0 ? "" : uri.substring(q + 1));
        HttpMethod m = req.method();
        if (rawPath.equals("/v1/health")) {
            requireMethod(m, HttpMethod.GET, rawPath);
            ObjectNode n = WireFormat.JSON.createObjectNode().put("status", "ok").put("protocol", WireFormat.VERSION);
            return new Reply(HttpResponseStatus.OK, WireFormat.bytes(n));
        }
        if (!rawPath.startsWith(FILES) || rawPath.length() == FILES.length()) {
            throw new RestoreException(Code.NOT_FOUND, "no endpoint " + m + " " + rawPath);
        }
        String rest = rawPath.substring(FILES.length());
        String stream = query.get("stream");
        if (m.equals(HttpMethod.PUT)) {
            return put(PathCodec.decodePath(rest), stream, query, req);
        }
        int slash = rest.lastIndexOf('/');
        String action = slash < 0 ? "" : rest.substring(slash + 1);
        List<String> path = slash < 0 ? null : PathCodec.decodePath(rest.substring(0, slash));
        if (path == null) {
            throw new RestoreException(Code.NOT_FOUND, "no endpoint " + m + " " + rawPath);
        }
        byte[] body = ByteBufUtil.getBytes(req.content());
        switch (action) {
            case "begin" -> {
                requireMethod(m, HttpMethod.POST, rawPath);
                Upload u = target.begin(WireFormat.parseFile(path, stream, body));
                return new Reply(HttpResponseStatus.OK, WireFormat.bytes(WireFormat.uploadJson(u)));
            }
            case "commit" -> {
                requireMethod(m, HttpMethod.POST, rawPath);
                RestoreFile f = WireFormat.parseFile(path, stream, body);
                CommitResult r = target.commit(new Upload(f, DirectoryTarget.uploadId(f), "", false, List.of(), List.of()));
                return new Reply(HttpResponseStatus.OK, WireFormat.bytes(WireFormat.commitJson(r)));
            }
            case "abort" -> {
                requireMethod(m, HttpMethod.POST, rawPath);
                target.abort(DirectoryTarget.uploadId(path, stream), String.join("/", path));
                return new Reply(HttpResponseStatus.NO_CONTENT, null);
            }
            case "status" -> {
                requireMethod(m, HttpMethod.GET, rawPath);
                long size = longParam(query, "size", 0, RestoreFile.MAX_SIZE);
                byte[] sha = sha256Param(query.get("sha256"), "sha256");
                int blockBytes = query.containsKey("blockBytes")
                        ? (int) longParam(query, "blockBytes", 0, Integer.MAX_VALUE) : 0;
                RestoreFile f;
                try {
                    f = new RestoreFile(path, stream, size, sha, blockBytes, FileTimes.NONE, 0, null, ExistingPolicy.OVERWRITE);
                } catch (IllegalArgumentException e) {
                    throw new RestoreException(Code.BAD_REQUEST, "status of " + String.join("/", path) + ": " + e.getMessage());
                }
                List<ByteRange> ranges = target.status(DirectoryTarget.uploadId(f), f);
                ObjectNode n = WireFormat.JSON.createObjectNode();
                n.set("verified", WireFormat.rangesJson(ranges));
                return new Reply(HttpResponseStatus.OK, WireFormat.bytes(n));
            }
            default -> throw new RestoreException(Code.NOT_FOUND, "no endpoint " + m + " " + rawPath);
        }
    }

    private Reply put(List<String> path, String stream, Map<String, String> query, FullHttpRequest req)
            throws RestoreException {
        long offset = longParam(query, "offset", 0, RestoreFile.MAX_SIZE);
        String id = DirectoryTarget.uploadId(path, stream);
        Upload u = target.openUpload(id);
        if (u == null) {
            throw new RestoreException(Code.UNKNOWN_UPLOAD, "no open upload for " + String.join("/", path)
                    + (stream == null ? "" : ":" + stream) + "; begin it again");
        }
        ByteBuf content = req.content();
        // the aggregated body's components, as they came off the socket: written without gathering them first
        ByteBuffer[] data = content.nioBuffers();
        String expected = req.headers().get(CHUNK_SHA256_HEADER);
        if (expected != null) {
            byte[] want = sha256Param(expected, CHUNK_SHA256_HEADER);
            byte[] got = BlockHasher.forThread().sha256(data); // the socket's buffers, not copied into an array
            if (!MessageDigest.isEqual(want, got)) {
                throw new RestoreException(Code.HASH_MISMATCH, "chunk at offset " + offset + " of " + u.targetPath()
                        + ": SHA-256 expected " + expected + ", found " + HexFormat.of().formatHex(got));
            }
        }
        target.write(u, offset, data);
        return new Reply(HttpResponseStatus.NO_CONTENT, null);
    }

    private static void requireMethod(HttpMethod m, HttpMethod want, String path) throws RestoreException {
        if (!m.equals(want)) {
            throw new RestoreException(Code.METHOD_NOT_ALLOWED, path + " takes " + want + ", not " + m);
        }
    }

    /** Parses a query string; names and values are percent-decoded like path components. */
    private static Map<String, String> query(String raw) throws RestoreException {
        Map<String, String> out = new HashMap<>();
        if (raw.isEmpty()) {
            return out;
        }
        String[] parts = raw.split("&", 9);
        if (parts.length > 8) {
            throw new RestoreException(Code.BAD_REQUEST, "too many query parameters");
        }
        for (String p : parts) {
            int eq = p.indexOf('=');
            String k = PathCodec.decode(eq < 0 ? p : p.substring(0, eq));
            String v = eq < 0 ? "" : PathCodec.decode(p.substring(eq + 1));
            if (out.put(k, v) != null) {
                throw new RestoreException(Code.BAD_REQUEST, "query parameter " + k + " given twice");
            }
        }
        return out;
    }

    private static long longParam(Map<String, String> q, String name, long min, long max) throws RestoreException {
        String v = q.get(name);
        if (v == null) {
            throw new RestoreException(Code.BAD_REQUEST, "missing query parameter " + name);
        }
        try {
            long n = Long.parseLong(v);
            if (n < min || n > max) {
                throw new NumberFormatException("out of range");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new RestoreException(Code.BAD_REQUEST, "query parameter " + name + " must be an integer in "
                    + min + ".." + max + ", found '" + v + "'");
        }
    }

    private static byte[] sha256Param(String v, String name) throws RestoreException {
        if (v == null || v.length() != 64) {
            throw new RestoreException(Code.BAD_REQUEST, name + " must be 64 hex digits");
        }
        try {
            return HexFormat.of().parseHex(v);
        } catch (IllegalArgumentException e) {
            throw new RestoreException(Code.BAD_REQUEST, name + " must be 64 hex digits, found '" + v + "'");
        }
    }

    private static Reply error(RestoreException e) {
        return new Reply(HttpResponseStatus.valueOf(e.code().httpStatus()), WireFormat.errorJson(e));
    }
}
