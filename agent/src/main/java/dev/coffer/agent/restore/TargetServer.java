package dev.coffer.agent.restore;

import dev.coffer.dedup.BlockHasher;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The restore-target server: an HTTP/1.1 server (Netty) that accepts authenticated chunk writes
 * for files and writes them through a {@link DirectoryTarget}, so remote and local restores behave
 * the same. The protocol is in {@code docs/restore-target.md}.
 *
 * <p>Threads: one acceptor, {@code ioThreads} event loops for the sockets, and {@code fileThreads}
 * for all file I/O and hashing (never on an event loop). Each connection has at most one request
 * in flight; while it is being written the connection stops reading (autoRead off), which is the
 * backpressure towards the client. Lifecycle: {@link #start}, then {@link #close}.
 */
public final class TargetServer implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(TargetServer.class);
    /** Longest request line: an NTFS path is at most 32767 UTF-16 units, each at most 9 characters percent-encoded. */
    static final int MAX_INITIAL_LINE = 320 << 10;
    /** Largest header block; requests carry a handful of short headers. */
    static final int MAX_HEADER_BYTES = 16 << 10;
    /** Largest request body: a chunk of {@link RestoreTarget#MAX_CHUNK_BYTES}. */
    static final int MAX_BODY_BYTES = RestoreTarget.MAX_CHUNK_BYTES;
    /** Content pieces handed up by the decoder (bigger pieces, fewer components to gather). */
    static final int DECODER_CHUNK_BYTES = 1 << 20;

    /**
     * Knobs of the server.
     *
     * @param ioThreads event-loop threads
     * @param fileThreads threads writing and hashing files
     * @param maxConnections connections accepted at once; more are closed on arrival
     * @param idleTimeout a connection that neither reads nor writes this long is closed
     * @param uploadIdle an upload untouched this long has its files closed (it stays resumable)
     */
    public record Options(int ioThreads, int fileThreads, int maxConnections, Duration idleTimeout, Duration uploadIdle) {
        /**
         * Defaults: 2 event loops and 4 file threads (the 2-core target machine: file threads mostly
         * hash, 4 keeps both cores busy while some wait on the disk); 256 connections (a restore
         * uses one per upload worker); 120 s idle (a client retrying a dead connection gives up
         * sooner); uploads closed after 10 min untouched.
         */
        public static Options defaults() {
            return new Options(2, 4, 256, Duration.ofSeconds(120), Duration.ofMinutes(10));
        }
    }

    private final DirectoryTarget target;
    private final byte[] tokenHash;
    private final Options options;
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private ExecutorService files;
    private Channel server;
    private final AtomicInteger connections = new AtomicInteger();
    /** @GuardedBy("this") */
    private boolean closed;

    private TargetServer(DirectoryTarget target, String token, Options options) {
        if (token == null || token.isEmpty()) {
            throw new IllegalArgumentException("the restore target needs a non-empty token");
        }
        this.target = target;
        this.tokenHash = sha256(token.getBytes(StandardCharsets.UTF_8));
        this.options = options;
    }

    /** Starts a server on {@code address} (port 0 picks a free one) writing into {@code target}, which it then owns. */
    public static TargetServer start(InetSocketAddress address, DirectoryTarget target, String token, Options options)
            throws IOException {
        TargetServer s = new TargetServer(target, token, options);
        s.bind(address);
        return s;
    }

    private void bind(InetSocketAddress address) throws IOException {
        boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        workers = new MultiThreadIoEventLoopGroup(options.ioThreads(), NioIoHandler.newFactory());
        AtomicInteger n = new AtomicInteger();
        files = new ThreadPoolExecutor(options.fileThreads(), options.fileThreads(), 0, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "restore-target-file-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 128)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ChannelPipeline p = ch.pipeline();
                        p.addLast(new ConnectionLimit());
                        p.addLast(new IdleStateHandler(0, 0, options.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
                        p.addLast(new HttpServerCodec(new HttpDecoderConfig()
                                .setMaxInitialLineLength(MAX_INITIAL_LINE)
                                .setMaxHeaderSize(MAX_HEADER_BYTES)
                                .setMaxChunkSize(DECODER_CHUNK_BYTES)));
                        p.addLast(new TargetAuthGate(tokenHash));
                        p.addLast(new HttpObjectAggregator(MAX_BODY_BYTES));
                        p.addLast(new TargetHttpHandler(target, files));
                    }
                });
        try {
            server = b.bind(address).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IOException("interrupted while binding " + address, e);
        } catch (RuntimeException e) {
            close();
            throw new IOException("cannot listen on " + address + ": " + e.getMessage(), e);
        }
        long every = Math.max(1000, options.uploadIdle().toMillis() / 4);
        boss.next().scheduleAtFixedRate(() -> files.execute(() -> {
            int closed = target.closeIdle(options.uploadIdle());
            if (closed > 0) {
                log.info("restore target closed idle uploads count={}", closed);
            }
        }), every, every, TimeUnit.MILLISECONDS);
        log.info("restore target listening address={} root={}", address(), target.root());
    }

    /** The address the server listens on (with the real port when 0 was asked). */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    /** Waits until the server channel is closed (by {@link #close} or a signal). */
    public void awaitClose() throws InterruptedException {
        server.closeFuture().sync();
    }

    /** Stops accepting, closes connections, waits for file I/O to finish, and closes the target. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        if (boss != null) {
            boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (workers != null) {
            workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (files != null) {
            files.shutdown();
            try {
                files.awaitTermination(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        target.close();
    }

    static byte[] sha256(byte[] b) {
        return BlockHasher.forThread().sha256(b, 0, b.length);
    }

    /** Closes connections beyond {@link Options#maxConnections}; per channel (counts its own arrival once). */
    private final class ConnectionLimit extends ChannelInboundHandlerAdapter {
        private boolean counted;

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            counted = true;
            if (connections.incrementAndGet() > options.maxConnections()) {
                log.warn("restore target refused connection remote={} limit={}", ctx.channel().remoteAddress(),
                        options.maxConnections());
                ctx.close();
                return;
            }
            super.channelActive(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            if (counted) {
                connections.decrementAndGet();
                counted = false;
            }
            super.channelInactive(ctx);
        }
    }
}
