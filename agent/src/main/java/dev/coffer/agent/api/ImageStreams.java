package dev.coffer.agent.api;

import dev.coffer.agent.rebuild.SparseVmdkExport;
import dev.coffer.agent.rebuild.DiskExport;
import dev.coffer.agent.rebuild.DiskLayout;
import dev.coffer.dedup.Destination;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whole-disk images streamed over HTTP while they are produced ({@code GET
 * /v1/backups/{id}/disks/{n}/image}): the response head goes out at once, then
 * {@link DiskExport} writes the disk front to back into a {@link ChunkedOutput} that sends it as
 * HTTP chunks. Flow control is the channel's writability: the export thread blocks while more than
 * {@link #HIGH_WATER_BYTES} wait to go out, so memory per stream is bounded however slowly the
 * client reads; a client that disconnects (or reads nothing for {@link #STALL_MILLIS}) makes the
 * next write fail, which stops the export.
 *
 * <p>Exports run on their own threads (never the event loop, never the request workers), at most
 * {@link #MAX_STREAMS} at once; one more is answered 503.
 */
final class ImageStreams {
    private static final Logger log = LoggerFactory.getLogger(ImageStreams.class);
    /** Exports at once: each reads blocks from the destination and (vmdk) compresses; 2 fill 2 cores. */
    static final int MAX_STREAMS = 2;
    /** Bytes per HTTP chunk: 256 KiB, a few socket buffers' worth, small next to the water marks. */
    static final int CHUNK_BYTES = 256 << 10;
    /** Outbound bytes above which the channel is unwritable and the export waits: 1 MiB. */
    static final int HIGH_WATER_BYTES = 1 << 20;
    /** Outbound bytes below which it is writable again: 512 KiB (hysteresis, fewer wake-ups). */
    static final int LOW_WATER_BYTES = 512 << 10;
    /** A client that takes nothing for this long is dropped: 60 s (a paused pipe, a dead peer). */
    static final long STALL_MILLIS = 60_000;

    /** A disk image to stream: what to write ({@code raw}, {@code vmdk-stream}, {@code vmdk-sparse}) and what to call it. */
    record Image(long backupId, String slot, long capacityBytes, String format, String fileName, Destination destination,
            DiskLayout layout) {
        void writeTo(OutputStream out) throws IOException {
            switch (format) {
                case "raw" -> new DiskExport(destination, layout).writeRaw(out);
                case "vmdk-sparse" -> new SparseVmdkExport(destination, layout).write(out, fileName);
                default -> new DiskExport(destination, layout).writeStreamOptimized(out, fileName);
            }
        }
    }

    private final ExecutorService threads = new ThreadPoolExecutor(0, MAX_STREAMS, 30, TimeUnit.SECONDS,
            new SynchronousQueue<>(), r -> {
                Thread t = new Thread(r, "coffer-image-stream");
                t.setDaemon(true);
                return t;
            });
    /** Streams running now. */
    final AtomicLong active = new AtomicLong();
    /** Image bytes handed to the network since start. */
    final AtomicLong bytesSent = new AtomicLong();
    /** Streams ended early (client gone, stalled, export failed). */
    final AtomicLong aborted = new AtomicLong();
    /** Largest number of bytes any stream had waiting in its channel's outbound buffer. */
    final AtomicLong maxPendingBytes = new AtomicLong();

    /**
     * Starts streaming {@code image} on {@code ctx}'s channel; {@code handler} is told about the
     * stream so writability changes reach it. Throws {@link RejectedExecutionException} when
     * {@link #MAX_STREAMS} are already running (nothing was written then).
     */
    void start(ChannelHandlerContext ctx, ApiHandler handler, Image image, boolean keepAlive) {
        threads.execute(() -> run(ctx, handler, image, keepAlive));
    }

    private void run(ChannelHandlerContext ctx, ApiHandler handler, Image image, boolean keepAlive) {
        active.incrementAndGet();
        Channel ch = ctx.channel();
        ChunkedOutput out = new ChunkedOutput(ch);
        handler.streaming(out);
        long t0 = System.nanoTime();
        log.info("image stream start backup={} disk={} format={} bytes={}", image.backupId(), image.slot(),
                image.format(), image.capacityBytes());
        try {
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
            head.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            head.headers().set(HttpHeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"" + image.fileName() + "\"");
            head.headers().set("X-Coffer-Capacity-Bytes", Long.toString(image.capacityBytes()));
            head.headers().set(HttpHeaderNames.CONNECTION, keepAlive ? HttpHeaderValues.KEEP_ALIVE : HttpHeaderValues.CLOSE);
            ch.writeAndFlush(head);
            image.writeTo(out);
            out.finish(keepAlive);
            log.info("image stream end backup={} disk={} format={} bytes={} seconds={}", image.backupId(), image.slot(),
                    image.format(), out.sent, (System.nanoTime() - t0) / 1_000_000 / 1000.0);
        } catch (IOException | RuntimeException e) {
            aborted.incrementAndGet();
            ch.close();
            log.warn("image stream aborted backup={} disk={} format={} bytes={} error=\"{}\"", image.backupId(),
                    image.slot(), image.format(), out.sent, e.getMessage());
        } finally {
            handler.streaming(null);
            active.decrementAndGet();
        }
    }

    /** Interrupts running exports (daemon stop). */
    void stop() {
        threads.shutdownNow();
    }

    /**
     * An OutputStream that sends what it is given as HTTP chunks of {@link #CHUNK_BYTES}, blocking
     * while the channel is unwritable. Used by one export thread; {@link #signal()} comes from the
     * event loop.
     */
    final class ChunkedOutput extends OutputStream {
        private final Channel ch;
        private final byte[] buf = new byte[CHUNK_BYTES];
        private final Object monitor = new Object();
        private int n;
        long sent;
        private volatile Throwable failure;

        ChunkedOutput(Channel ch) {
            this.ch = ch;
        }

        /** The channel's writability changed or it closed: wake the export thread. */
        void signal() {
            synchronized (monitor) {
                monitor.notifyAll();
            }
        }

        @Override
        public void write(int b) throws IOException {
            if (n == buf.length) {
                send();
            }
            buf[n++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                if (n == buf.length) {
                    send();
                }
                int k = Math.min(len, buf.length - n);
                System.arraycopy(b, off, buf, n, k);
                n += k;
                off += k;
                len -= k;
            }
        }

        /** Sends what is buffered (an HTTP chunk); {@code flush} from the export does not force small chunks. */
        private void send() throws IOException {
            if (n == 0) {
                return;
            }
            awaitWritable();
            ByteBuf bb = ch.alloc().buffer(n);
            bb.writeBytes(buf, 0, n);
            ch.writeAndFlush(new DefaultHttpContent(bb)).addListener(f -> {
                if (!f.isSuccess()) {
                    failure = f.cause();
                    signal();
                }
            });
            sent += n;
            bytesSent.addAndGet(n);
            n = 0;
            ChannelOutboundBuffer ob = ch.unsafe().outboundBuffer();
            if (ob != null) {
                maxPendingBytes.accumulateAndGet(ob.totalPendingWriteBytes(), Math::max);
            }
        }

        private void awaitWritable() throws IOException {
            long deadline = System.nanoTime() + STALL_MILLIS * 1_000_000L;
            synchronized (monitor) {
                while (true) {
                    if (failure != null) {
                        throw new IOException("client connection failed: " + failure.getMessage(), failure);
                    }
                    if (!ch.isActive()) {
                        throw new IOException("client disconnected");
                    }
                    if (ch.isWritable()) {
                        return;
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new IOException("client read nothing for " + STALL_MILLIS + " ms");
                    }
                    try {
                        // the event loop signals writability; the timeout re-checks a close it may not
                        monitor.wait(Math.max(1, Math.min(100, left / 1_000_000L)));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("image stream cancelled");
                    }
                }
            }
        }

        /** Sends the rest and the last chunk; closes the connection unless it is kept alive. */
        void finish(boolean keepAlive) throws IOException {
            send();
            awaitWritable();
            var f = ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}
