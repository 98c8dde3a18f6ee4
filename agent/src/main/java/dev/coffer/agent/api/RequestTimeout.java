package dev.coffer.agent.api;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Answers 408 and closes a connection that has not delivered a whole request within the timeout
 * since it opened or since its previous response (a slow or stalled client holds no connection for
 * long; a trickle of bytes does not extend the deadline). Per channel, not sharable.
 */
final class RequestTimeout extends ChannelDuplexHandler {
    private final long millis;
    private ScheduledFuture<?> timer;
    private boolean busy;

    RequestTimeout(long millis) {
        this.millis = millis;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        arm(ctx);
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        super.channelRead(ctx, msg);
    }

    /** Called by the handler once a whole request arrived: the clock stops until the response is written. */
    void requestComplete() {
        busy = true;
        if (timer != null) {
            timer.cancel(false);
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof io.netty.handler.codec.http.LastHttpContent || msg instanceof io.netty.handler.codec.http.FullHttpResponse) {
            busy = false;
            arm(ctx);
        }
        super.write(ctx, msg, promise);
    }

    private void arm(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
        }
        timer = ctx.executor().schedule(() -> {
            if (!busy && ctx.channel().isActive()) {
                ApiHandler.sendError(ctx, HttpResponseStatus.REQUEST_TIMEOUT,
                        "no complete request within " + millis + " ms", false);
            }
        }, millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (timer != null) {
            timer.cancel(false);
        }
        super.channelInactive(ctx);
    }
}
