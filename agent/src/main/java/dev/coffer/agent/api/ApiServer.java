package dev.coffer.agent.api;

import dev.coffer.agent.config.AgentConfig;
import dev.coffer.agent.daemon.AgentDaemon;
import dev.coffer.agent.daemon.DaemonOptions;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The query API server: HTTP/1.1 with JSON on the Unix domain socket of {@code query.socket} (mode
 * 0660: the file's owner and group may connect) and, when {@code query.listen} is set, on TCP where
 * every request needs {@code Authorization: Bearer TOKEN} (the token of {@code query.token_file}).
 * Routes are in {@link ApiRoutes}; {@code docs/api.md} lists them.
 *
 * <p>Catalog queries never run on the event loop: they go to a small bounded pool, and a request
 * that finds the pool full is answered 503.
 */
public final class ApiServer {
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
    /** Request workers: catalog reads are short and SQLite serves several readers; 4 keeps 2 cores busy. */
    static final int WORKERS = 4;
    /** Requests waiting for a worker before new ones get 503: 64. */
    static final int BACKLOG = 64;
    /** Longest token file: a token is a line, 4 KiB is generous. */
    static final long MAX_TOKEN_BYTES = 4096;

    private final AgentDaemon daemon;
    private final DaemonOptions options;
    private final ApiRoutes routes;
    private final ImageStreams streams = new ImageStreams();
    private EventLoopGroup group;
    private ExecutorService workers;
    private final List<Channel> channels = new ArrayList<>();
    private Path socket;
    private InetSocketAddress tcpAddress;

    /** A server for {@code daemon}; {@link #start()} binds it. */
    public ApiServer(AgentDaemon daemon, DaemonOptions options) {
        this.daemon = daemon;
        this.options = options;
        this.routes = new ApiRoutes(daemon, new Metrics(daemon, streams));
    }

    /** Binds the Unix socket (replacing a stale one) and the TCP listener when configured. */
    public void start() throws IOException {
        AgentConfig.Query q = daemon.config().query();
        byte[] tokenDigest = null;
        if (q.listen().isPresent()) {
            tokenDigest = sha256(readToken(q.tokenFile().orElseThrow()));
        }
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        workers = new ThreadPoolExecutor(WORKERS, WORKERS, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(BACKLOG), r -> {
            Thread t = new Thread(r, "coffer-api");
            t.setDaemon(true);
            return t;
        });
        try {
            socket = q.socket().toAbsolutePath().normalize();
            bindUnix(socket);
            if (q.listen().isPresent()) {
                String hp = q.listen().get();
                int colon = hp.lastIndexOf(':');
                String host = hp.substring(0, colon).replace("[", "").replace("]", "");
                InetSocketAddress addr = new InetSocketAddress(host, Integer.parseInt(hp.substring(colon + 1)));
                Channel ch = bootstrap(tokenDigest, NioServerSocketChannel.class).bind(addr).syncUninterruptibly().channel();
                channels.add(ch);
                tcpAddress = (InetSocketAddress) ch.localAddress();
            }
        } catch (IOException | RuntimeException e) {
            stop();
            throw e instanceof IOException io ? io : new IOException("query API: " + e.getMessage(), e);
        }
        log.info("query API listening socket={} tcp={}", socket, tcpAddress == null ? "none" : tcpAddress);
    }

    /**
     * Binds the Unix socket without a moment where it is reachable with looser permissions: bind at a
     * temporary name beside it, chmod 0660, then rename over the final name. A file already at the
     * final name is replaced only when it is a socket nobody answers on (a crashed daemon's); a live
     * socket means another daemon, and a regular file is not ours to delete.
     */
    private void bindUnix(Path path) throws IOException {
        Files.createDirectories(path.getParent());
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            if (!"socket".equals(fileType(path))) {
                throw new IOException(path + ": exists and is not a socket; refusing to replace it");
            }
            if (answers(path)) {
                throw new IOException(path + ": another agent is listening on this socket");
            }
            log.warn("stale query socket replaced socket={}", path);
        }
        Path tmp = path.resolveSibling("." + path.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.deleteIfExists(tmp);
        Channel ch = bootstrap(null, NioServerDomainSocketChannel.class).bind(UnixDomainSocketAddress.of(tmp))
                .syncUninterruptibly().channel();
        channels.add(ch);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-rw----"));
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String fileType(Path p) throws IOException {
        var a = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        return a.isOther() ? "socket" : a.isRegularFile() ? "file" : a.isDirectory() ? "directory" : "link";
    }

    private static boolean answers(Path p) {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(p));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private ServerBootstrap bootstrap(byte[] tokenDigest, Class<? extends io.netty.channel.ServerChannel> type) {
        return new ServerBootstrap().group(group).channel(type)
                // bounds what a streamed image may queue for a slow client (ImageStreams)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(ImageStreams.LOW_WATER_BYTES, ImageStreams.HIGH_WATER_BYTES))
                .childHandler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new HttpServerCodec(4096, 8192, 8192));
                ch.pipeline().addLast(new RequestTimeout(options.requestTimeoutMillis()));
                ch.pipeline().addLast(new BoundedAggregator(options.maxRequestBytes()));
                ch.pipeline().addLast(new ApiHandler(routes, workers, tokenDigest, streams));
            }
        });
    }

    /** The Unix socket path. */
    public Path socket() {
        return socket;
    }

    /** The bound TCP address (the real port when the config said 0), or null without TCP. */
    public InetSocketAddress tcpAddress() {
        return tcpAddress;
    }

    /** Closes the listeners, removes the socket file, and stops the workers. */
    public void stop() {
        streams.stop();
        for (Channel c : channels) {
            c.close().syncUninterruptibly();
        }
        channels.clear();
        if (socket != null) {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                log.warn("socket not removed socket={} error=\"{}\"", socket, e.getMessage());
            }
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (workers != null) {
            workers.shutdownNow();
        }
    }

    static byte[] readToken(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_TOKEN_BYTES) {
            throw new IOException(file + ": " + size + " bytes is not a token file");
        }
        String t = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (t.isEmpty()) {
            throw new IOException(file + ": the query token file is empty");
        }
        return t.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
