package dev.coffer.agent.api;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;

/** Aggregates a request up to a byte limit; a larger one gets a JSON 413 and the connection closes. */
final class BoundedAggregator extends HttpObjectAggregator {
    private final int max;

    BoundedAggregator(int maxContentLength) {
        super(maxContentLength);
        this.max = maxContentLength;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        ApiHandler.sendError(ctx, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                "request body larger than " + max + " bytes", false);
    }
}
