package dev.coffer.agent.api;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.concurrent.TimeUnit;

/** Aggregates a request up to a byte limit; a larger one gets a JSON 413 and the connection closes. */
final class BoundedAggregator extends HttpObjectAggregator {
    private final int max;

    BoundedAggregator(int maxContentLength) {
        super(maxContentLength);
        this.max = maxContentLength;
    }

    /** How long the connection stays open after the 413 to drain the body the client is still sending. */
    private static final long DRAIN_MILLIS = 500;

    /**
     * Answers 413 but closes only a moment later: the client is usually still sending its body,
     * and closing with those bytes unread would reset the connection and lose the answer. The
     * aggregator discards the rest of the oversized body meanwhile; the client usually closes first.
     */
    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        FullHttpResponse resp = ApiHandler.errorResponse(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                "request body larger than " + max + " bytes");
        resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, resp.content().readableBytes());
        resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(resp).addListener(f -> ctx.executor().schedule(() -> ctx.close(), DRAIN_MILLIS,
                TimeUnit.MILLISECONDS));
    }
}
