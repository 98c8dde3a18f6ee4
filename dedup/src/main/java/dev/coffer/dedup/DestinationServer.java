package dev.coffer.dedup;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination server: a {@link BlockStore} served over the block protocol (docs/protocol.md).
 *
 * <p>Lifecycle: {@link #start(ServerOptions)} opens the store (recovering it), binds and returns;
 * {@link #stop()} closes the listener and connections, then the store. Store calls run on their own
 * executor, never on the event loop.
 */
public final class DestinationServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DestinationServer.class);

    private final ServerOptions options;
    private final BlockStore store;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ExecutorService storeExecutor;
    private final MemoryBudget budget;
    /** The accepted connections that are open (a closed one leaves the group by itself). */
    private final io.netty.channel.group.ChannelGroup sessions =
            new io.netty.channel.group.DefaultChannelGroup(io.netty.util.concurrent.GlobalEventExecutor.INSTANCE);
    private final AtomicInteger connections = new AtomicInteger();
    private final SslContext ssl;
    private Channel listener;
    private volatile boolean stopping;

    private DestinationServer(ServerOptions options, BlockStore store, SslContext ssl) {
        this.options = options;
        this.store = store;
        this.ssl = ssl;
        this.boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        this.workers = new MultiThreadIoEventLoopGroup(options.ioThreads(), NioIoHandler.newFactory());
        AtomicInteger n = new AtomicInteger();
        this.storeExecutor = Executors.newFixedThreadPool(options.storeThreads(), r -> {
            Thread t = new Thread(r, "coffer-dest-store-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.budget = new MemoryBudget(options.memoryBudgetBytes());
    }

    /**
     * Opens the store and starts listening.
     *
     * @throws DedupException when the options are unsafe (plaintext on a non-loopback address) or the store fails to open
     */
    public static DestinationServer start(ServerOptions options) throws IOException, InterruptedException {
        ServerOptions o = options.withDefaults();
        if (o.auth().plaintextLoopback() && !o.listen().getAddress().isLoopbackAddress()) {
            throw new DedupException("plaintext is only allowed on a loopback address, not " + o.listen());
        }
        SslContext ssl = null;
        if (o.auth().tls()) {
            SslContextBuilder b = SslContextBuilder.forServer(o.auth().certChainPem().toFile(), o.auth().keyPem().toFile())
                    .sslProvider(SslProvider.JDK);
            if (o.auth().clientCaPem() != null) {
                b.trustManager(o.auth().clientCaPem().toFile()).clientAuth(ClientAuth.REQUIRE);
            }
            ssl = b.build();
        }
        BlockStore store = BlockStore.open(o.storeDir(), o.storeOptions());
        DestinationServer s = new DestinationServer(o, store, ssl);
        try {
            s.bind();
        } catch (IOException | InterruptedException | RuntimeException e) {
            s.stop();
            throw e;
        }
        return s;
    }

    private void bind() throws InterruptedException, IOException {
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.ALLOCATOR, Wire.ALLOCATOR)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(4 << 20, 16 << 20))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        sessions.add(ch);
                        String peer = String.valueOf(ch.remoteAddress());
                        if (ssl != null) {
                            ch.pipeline().addLast("tls", ssl.newHandler(ch.alloc()));
                        }
                        long idle = options.idleTimeout().toMillis();
                        ch.pipeline().addLast("idle", new IdleStateHandler(true, idle, idle, 0, TimeUnit.MILLISECONDS));
                        ch.pipeline().addLast("frames", new FrameDecoder(peer, Wire.MAX_HELLO_BODY_BYTES, budget,
                                options.connectionWindowBytes()));
                        ch.pipeline().addLast("handler", new ServerHandler(DestinationServer.this, peer));
                    }
                });
        try {
            listener = b.bind(options.listen()).sync().channel();
        } catch (Exception e) {
            throw new DedupException("cannot listen on " + options.listen() + ": " + e.getMessage(), e);
        }
        log.info("destination listening address={} store={} tls={} clientCert={}", address(), store.dir(),
                options.auth().tls(), options.auth().clientCaPem() != null);
    }

    /** The bound address (with the real port when port 0 was asked). */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** The store this server serves (for maintenance in the same process). */
    public BlockStore store() {
        return store;
    }

    ServerOptions options() {
        return options;
    }

    ExecutorService storeExecutor() {
        return storeExecutor;
    }

    MemoryBudget budget() {
        return budget;
    }

    AtomicInteger connections() {
        return connections;
    }

    boolean stopping() {
        return stopping;
    }

    /** Stops listening, closes every connection, waits for store work, closes the store. Idempotent. */
    public void stop() throws IOException {
        if (stopping && listener == null) {
            return;
        }
        stopping = true;
        if (listener != null) {
            listener.close().syncUninterruptibly();
            listener = null;
        }
        // Every session is closed here, before its event loop goes: shutting the loops down alone left,
        // now and then, an accepted connection open and unserved (its peer then waited on it forever).
        sessions.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        storeExecutor.shutdown();
        try {
            storeExecutor.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.close();
        log.info("destination stopped store={}", store.dir());
    }

    @Override
    public void close() throws IOException {
        stop();
    }
}
