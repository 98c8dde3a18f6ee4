package dev.coffer.agent.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's request handler: checks decoding and (on TCP) the bearer token on the event loop,
 * then runs the route on the worker pool and writes its JSON (or Prometheus text) answer. Per
 * channel; never sharable.
 */
final class ApiHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(ApiHandler.class);
    static final ObjectMapper JSON = new ObjectMapper();

    private final ApiRoutes routes;
    private final ExecutorService workers;
    /** SHA-256 of the TCP token; null on the Unix socket, where file permissions authenticate. */
    private final byte[] tokenDigest;
    private final ImageStreams streams;
    /** The image being streamed on this connection, or null; set by the export thread. */
    private volatile ImageStreams.ChunkedOutput streaming;

    ApiHandler(ApiRoutes routes, ExecutorService workers, byte[] tokenDigest, ImageStreams streams) {
        this.routes = routes;
        this.workers = workers;
        this.tokenDigest = tokenDigest;
        this.streams = streams;
    }

    void streaming(ImageStreams.ChunkedOutput out) {
        streaming = out;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        ImageStreams.ChunkedOutput s = streaming;
        if (s != null) {
            s.signal();
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        ImageStreams.ChunkedOutput s = streaming;
        if (s != null) {
            s.signal();
        }
        super.channelInactive(ctx);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (streaming != null) {
            // a request pipelined behind an image stream cannot be answered in between its chunks
            log.debug("request during an image stream; closing uri=\"{}\"", req.uri());
            ctx.close();
            return;
        }
        RequestTimeout rt = ctx.pipeline().get(RequestTimeout.class);
        if (rt != null) {
            rt.requestComplete();
        }
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        if (req.decoderResult().isFailure()) {
            Throwable c = req.decoderResult().cause();
            HttpResponseStatus st = c instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                    : c instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                    : c instanceof TooLongFrameException ? HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE
                    : HttpResponseStatus.BAD_REQUEST;
            sendError(ctx, st, "malformed request: " + c.getMessage(), false);
            return;
        }
        if (tokenDigest != null && !authorised(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            FullHttpResponse r = errorResponse(HttpResponseStatus.UNAUTHORIZED,
                    "missing or wrong bearer token (Authorization: Bearer TOKEN)");
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"coffer\"");
            write(ctx, r, keepAlive);
            return;
        }
        ApiRoutes.Request r = new ApiRoutes.Request(req.method().name(), req.uri(),
                ByteBufUtil.getBytes(req.content()), req.headers().get(HttpHeaderNames.CONTENT_TYPE));
        try {
            workers.execute(() -> {
                FullHttpResponse resp;
                try {
                    ImageStreams.Image image = routes.image(r);
                    if (image != null) {
                        try {
                            streams.start(ctx, this, image, keepAlive);
                            return;
                        } catch (RejectedExecutionException busy) {
                            throw new ApiException(503, "busy: " + ImageStreams.MAX_STREAMS + " disk images are being streamed");
                        }
                    }
                    resp = routes.handle(r);
                } catch (ApiException e) {
                    resp = errorResponse(HttpResponseStatus.valueOf(e.status()), e.getMessage());
                } catch (RuntimeException e) {
                    log.error("api request failed method={} uri=\"{}\" error=\"{}\"", r.method(), r.uri(), e.toString(), e);
                    resp = errorResponse(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e);
                }
                write(ctx, resp, keepAlive);
            });
        } catch (RejectedExecutionException e) {
            write(ctx, errorResponse(HttpResponseStatus.SERVICE_UNAVAILABLE, "busy: too many requests waiting"), false);
        }
    }

    /** Constant-time comparison of digests (equal length whatever the token's length). */
    private boolean authorised(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] given = ApiServer.sha256(header.substring(7).strip().getBytes(StandardCharsets.UTF_8));
        return MessageDigest.isEqual(given, tokenDigest);
    }

    private static void write(ChannelHandlerContext ctx, FullHttpResponse resp, boolean keepAlive) {
        resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, resp.content().readableBytes());
        if (keepAlive) {
            resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(resp);
        } else {
            resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        }
    }

    static FullHttpResponse errorResponse(HttpResponseStatus status, String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", message);
        m.put("status", status.code());
        return json(status, m);
    }

    static FullHttpResponse json(HttpResponseStatus status, Object body) {
        byte[] bytes;
        try {
            bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(body);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("unserialisable answer", e);
        }
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8");
        return r;
    }

    /** Writes a JSON error and (unless keepAlive) closes; safe from any handler of the pipeline. */
    static void sendError(ChannelHandlerContext ctx, HttpResponseStatus status, String message, boolean keepAlive) {
        write(ctx, errorResponse(status, message), keepAlive);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("api connection error error=\"{}\"", cause.toString());
        if (streaming != null) {
            ctx.close(); // an error answer cannot go in the middle of a stream; the export sees the close
            return;
        }
        if (ctx.channel().isActive()) {
            sendError(ctx, HttpResponseStatus.BAD_REQUEST, "malformed request: " + cause.getMessage(), false);
        }
    }
}
