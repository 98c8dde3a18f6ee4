package dev.coffer.agent.restore;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Refuses requests without the right {@code Authorization: Bearer TOKEN} before their body is
 * buffered: answers 401 and closes the connection. The token is compared in constant time (the
 * SHA-256 of the presented token against the SHA-256 of the real one, so not even its length leaks).
 * Per channel, not sharable.
 */
final class TargetAuthGate extends ChannelInboundHandlerAdapter {
    private static final String BEARER = "Bearer ";
    private final byte[] tokenHash;
    /** After a refusal, the rest of the request (and connection) is dropped. Event-loop confined. */
    private boolean refusing;
    /** Body bytes dropped since the refusal. Event-loop confined. */
    private long discarded;

    TargetAuthGate(byte[] tokenHash) {
        this.tokenHash = tokenHash;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refusing) {
            // Drain the refused request's body before closing: closing with unread bytes would reset the
            // connection and could destroy the 401 before the client reads it. Bounded by the body limit.
            if (msg instanceof HttpContent c) {
                discarded += c.content().readableBytes();
            }
            boolean last = msg instanceof LastHttpContent;
            ReferenceCountUtil.release(msg);
            if (last || discarded > TargetServer.MAX_BODY_BYTES) {
                ctx.close();
            }
            return;
        }
        if (msg instanceof HttpRequest req && !authorized(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            refusing = true;
            RestoreException e = new RestoreException(RestoreException.Code.UNAUTHORIZED,
                    "missing or wrong bearer token for " + req.method() + " request");
            byte[] body = WireFormat.errorJson(e);
            ReferenceCountUtil.release(msg);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.UNAUTHORIZED,
                    Unpooled.wrappedBuffer(body));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
                    .set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer")
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            boolean last = msg instanceof LastHttpContent;
            ctx.writeAndFlush(res);
            if (last) {
                ctx.close();
            }
            return;
        }
        ctx.fireChannelRead(msg);
    }

    private boolean authorized(String header) {
        if (header == null || !header.startsWith(BEARER)) {
            return false;
        }
        byte[] presented = TargetServer.sha256(header.substring(BEARER.length()).getBytes(StandardCharsets.UTF_8));
        return MessageDigest.isEqual(presented, tokenHash);
    }
}
