package dev.coffer.agent.restore;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
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

    TargetAuthGate(byte[] tokenHash) {
        this.tokenHash = tokenHash;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refusing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest req && !authorized(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            refusing = true;
            ReferenceCountUtil.release(msg);
            RestoreException e = new RestoreException(RestoreException.Code.UNAUTHORIZED,
                    "missing or wrong bearer token for " + req.method() + " request");
            byte[] body = WireFormat.errorJson(e);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.UNAUTHORIZED,
                    Unpooled.wrappedBuffer(body));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
                    .set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer")
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
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
