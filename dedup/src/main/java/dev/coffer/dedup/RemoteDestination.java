package dev.coffer.dedup;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Destination} on a {@code coffer destination} server: one pipelined session over the block
 * protocol (docs/protocol.md) that keeps many requests in flight, bounds the bytes it has sent but not
 * had acknowledged, and on a dropped connection reconnects and re-sends exactly the requests that were
 * not answered — an acknowledged block is never sent again.
 */
public final class RemoteDestination implements Destination {
    private static final Logger log = LoggerFactory.getLogger(RemoteDestination.class);
    /** Budget charged per GET (its size is unknown until the reply): one typical 1 MiB block. */
    static final int GET_CHARGE = 1 << 20;
    /** How long connect + TLS + HELLO may take. */
    static final long CONNECT_TIMEOUT_MS = 10_000;
    /** Ping intervals without a single frame from the server after which the connection counts as dead. */
    static final int SILENT_PINGS = 3;

    private final ClientOptions options;
    private final EventLoopGroup group;
    private final ExecutorService workers;
    private final SslContext ssl;
    private final Semaphore budget;
    private final int budgetPermits;
    private final AtomicLong ids = new AtomicLong();
    private final ConcurrentSkipListMap<Long, Op> pending = new ConcurrentSkipListMap<>();
    private final AtomicReference<Channel> channel = new AtomicReference<>();
    private final AtomicLong wireBytesSent = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private volatile DedupException broken;
    private volatile boolean closing;
    private final Object reconnectLock = new Object();
    private boolean reconnecting;

    private RemoteDestination(ClientOptions options) throws DedupException {
        this.options = options;
        if (options.serverCaPem() == null && !options.plaintextLoopback()) {
            throw new DedupException("no TLS trust anchor given and plaintext-loopback not enabled for " + options.server());
        }
        if (options.serverCaPem() == null && !options.server().getAddress().isLoopbackAddress()) {
            throw new DedupException("plaintext is only allowed to a loopback address, not " + options.server());
        }
        try {
            if (options.serverCaPem() != null) {
                SslContextBuilder b = SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
                        .trustManager(options.serverCaPem().toFile());
                if (options.clientCertPem() != null) {
                    b.keyManager(options.clientCertPem().toFile(), options.clientKeyPem().toFile());
                }
                ssl = b.build();
            } else {
                ssl = null;
            }
        } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
            throw new DedupException("TLS configuration for " + options.server() + ": " + e.getMessage(), e);
        }
        budgetPermits = (int) Math.min(Integer.MAX_VALUE, options.maxInFlightBytes());
        budget = new Semaphore(budgetPermits);
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        AtomicInteger n = new AtomicInteger();
        workers = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "coffer-remote-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Connects, authenticates and returns a ready session.
     *
     * @throws RemoteException with AUTH_FAILED / UNSUPPORTED_VERSION when the server refuses the session
     * @throws DedupException when the server cannot be reached
     */
    public static RemoteDestination connect(ClientOptions options) throws DedupException {
        RemoteDestination d = new RemoteDestination(options.withDefaults());
        try {
            d.channel.set(d.openSession());
        } catch (DedupException | RuntimeException e) {
            d.shutdown();
            throw e;
        }
        return d;
    }

    /** Bytes this session has written to the network (frames, including re-sends; TLS overhead excluded). */
    public long wireBytesSent() {
        return wireBytesSent.get();
    }

    /** Times this session reconnected after a dropped connection. */
    public long reconnects() {
        return reconnects.get();
    }

    // ------------------------------------------------------------ connection

    private Channel openSession() throws DedupException {
        CompletableFuture<Void> hello = new CompletableFuture<>();
        Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOCATOR, Wire.ALLOCATOR)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT_MS)
                // requests are written only while the channel is writable (see send), so these bound the
                // frames Netty holds copied off-heap: 2-4 MiB keeps a loopback or LAN socket full, while a
                // larger backlog made the pooled allocator map and zero fresh chunks (docs/perf/dedup.md)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(2 << 20, 4 << 20))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (ssl != null) {
                            SslHandler h = ssl.newHandler(ch.alloc(), options.server().getHostString(), options.server().getPort());
                            SSLEngine engine = h.engine();
                            SSLParameters p = engine.getSSLParameters();
                            p.setEndpointIdentificationAlgorithm("HTTPS"); // the server's certificate must name its address
                            engine.setSSLParameters(p);
                            ch.pipeline().addLast("tls", h);
                        }
                        ch.pipeline().addLast("frames", new FrameDecoder("server " + options.server(), Wire.MAX_BODY_BYTES, null, 0));
                        long ping = options.pingInterval().toMillis();
                        // quiet for a ping interval: PING; nothing heard for three (not even the PONGs): the peer is
                        // gone without closing (a crashed host, a half-open connection), so reconnect
                        ch.pipeline().addLast("idle", new IdleStateHandler(SILENT_PINGS * ping, ping, 0, TimeUnit.MILLISECONDS));
                        ch.pipeline().addLast("handler", new ClientHandler(hello));
                    }
                });
        Channel ch;
        try {
            io.netty.channel.ChannelFuture cf = b.connect(options.server());
            if (!cf.await(CONNECT_TIMEOUT_MS) || !cf.isSuccess()) {
                cf.channel().close();
                throw new DedupException("cannot connect to " + options.server() + ": "
                        + (cf.cause() == null ? "timeout" : cf.cause().getMessage()), cf.cause());
            }
            ch = cf.channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DedupException("interrupted connecting to " + options.server(), e);
        }
        byte[] token = options.token() == null ? new byte[0] : options.token();
        ByteBuf body = ch.alloc().buffer();
        body.writeShortLE(Wire.VERSION);
        body.writeShortLE(Wire.VERSION);
        body.writeShortLE(token.length);
        body.writeBytes(token);
        Wire.writeString(body, options.clientName());
        ch.writeAndFlush(Wire.frame(ch.alloc(), Wire.HELLO, 0, body));
        try {
            hello.get(CONNECT_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            ch.close();
            Throwable c = e.getCause();
            throw c instanceof DedupException d ? d : new DedupException("session with " + options.server() + " failed: " + c, c);
        } catch (java.util.concurrent.TimeoutException e) {
            ch.close();
            throw new DedupException("no HELLO_OK from " + options.server() + " within " + CONNECT_TIMEOUT_MS + " ms");
        } catch (InterruptedException e) {
            ch.close();
            Thread.currentThread().interrupt();
            throw new DedupException("interrupted during the handshake with " + options.server(), e);
        }
        return ch;
    }

    private void onDisconnect(Channel ch) {
        if (!channel.compareAndSet(ch, null) || closing) {
            return;
        }
        synchronized (reconnectLock) {
            if (reconnecting) {
                return;
            }
            reconnecting = true;
        }
        workers.execute(this::reconnectLoop);
    }

    private void reconnectLoop() {
        long delay = 100;
        DedupException last = null;
        for (int attempt = 1; attempt <= options.maxReconnectAttempts() && !closing; attempt++) {
            try {
                Thread.sleep(delay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            delay = Math.min(5000, delay * 2);
            try {
                Channel ch = openSession();
                reconnects.incrementAndGet();
                log.info("destination session resumed server={} attempt={} resending={}", options.server(), attempt, pending.size());
                synchronized (reconnectLock) {
                    reconnecting = false;
                }
                channel.set(ch);
                for (Op op : pending.values()) {
                    send(op, ch);
                }
                if (!ch.isActive()) {
                    onDisconnect(ch);
                }
                return;
            } catch (RemoteException e) {
                last = e;
                if (e.code() == ErrorCode.AUTH_FAILED || e.code() == ErrorCode.UNSUPPORTED_VERSION) {
                    break;
                }
            } catch (DedupException e) {
                last = e;
                log.debug("destination reconnect failed server={} attempt={}: {}", options.server(), attempt, e.getMessage());
            }
        }
        broken = new DedupException("connection to " + options.server() + " lost and not re-established"
                + (last == null ? "" : ": " + last.getMessage()), last);
        synchronized (reconnectLock) {
            reconnecting = false;
        }
        failAll(broken);
    }

    private void failAll(DedupException e) {
        for (Map.Entry<Long, Op> en : pending.entrySet()) {
            if (pending.remove(en.getKey(), en.getValue())) {
                en.getValue().fail(e);
            }
        }
    }

    // ------------------------------------------------------------ requests

    /** One request in flight: re-encodable for re-sends, charged against the budget until answered. */
    private abstract class Op {
        final long id;
        final int permits;
        final AtomicReference<Channel> sentOn = new AtomicReference<>();

        Op(int permits, long id) {
            this.permits = permits;
            this.id = id;
        }

        abstract List<ByteBuf> encode(ByteBufAllocator alloc);

        /** Handles the reply frame on the event loop; copy what is needed, the frame is released after. */
        abstract void reply(Frame f) throws DedupException;

        abstract void fail(Throwable t);

        abstract CompletableFuture<?> future();

        final void done() {
            budget.release(permits);
        }
    }

    private void start(Op op) {
        if (broken != null) {
            op.done();
            op.fail(broken);
            return;
        }
        if (closing) {
            op.done();
            op.fail(new DedupException("session to " + options.server() + " is closed"));
            return;
        }
        pending.put(op.id, op);
        Channel ch = channel.get();
        if (ch != null) {
            send(op, ch);
        }
    }

    /**
     * Queues {@code op} for {@code ch}. Frames are encoded and written on the event loop, and only while the
     * channel is writable: a request waits here, on the heap, rather than as a direct-memory copy in Netty's
     * outbound buffer (backpressure from channel writability, docs/protocol.md).
     */
    private void send(Op op, Channel ch) {
        Channel prev = op.sentOn.get();
        if (prev == ch || !op.sentOn.compareAndSet(prev, ch) || !pending.containsKey(op.id)) {
            return;
        }
        if (!(ch.pipeline().get("handler") instanceof ClientHandler h)) {
            return; // closed meanwhile: the op stays pending and is re-sent after the reconnect
        }
        h.outbox.add(op);
        if (h.drainScheduled.compareAndSet(false, true)) {
            ch.eventLoop().execute(() -> {
                h.drainScheduled.set(false);
                h.drain(ch);
            });
        }
    }

    private final class SimpleOp<T> extends Op {
        final CompletableFuture<T> result = new CompletableFuture<>();
        final java.util.function.Function<ByteBufAllocator, List<ByteBuf>> encoder;
        final int expectedOpcode;
        final ReplyParser<T> parser;

        SimpleOp(int permits, int expectedOpcode, java.util.function.Function<ByteBufAllocator, List<ByteBuf>> encoder,
                ReplyParser<T> parser) {
            super(permits, ids.incrementAndGet());
            this.encoder = encoder;
            this.expectedOpcode = expectedOpcode;
            this.parser = parser;
        }

        @Override
        List<ByteBuf> encode(ByteBufAllocator alloc) {
            return encoder.apply(alloc);
        }

        @Override
        void reply(Frame f) throws DedupException {
            if (f.opcode != expectedOpcode) {
                throw new CorruptDataException("server " + options.server() + " request " + id + ": reply opcode 0x"
                        + Integer.toHexString(f.opcode) + ", expected 0x" + Integer.toHexString(expectedOpcode));
            }
            parser.parse(new Wire.Reader(f.body, "server " + options.server() + " reply " + id), result);
        }

        @Override
        void fail(Throwable t) {
            result.completeExceptionally(t);
        }

        @Override
        CompletableFuture<?> future() {
            return result;
        }
    }

    private interface ReplyParser<T> {
        void parse(Wire.Reader r, CompletableFuture<T> out) throws DedupException;
    }

    private static List<ByteBuf> one(ByteBufAllocator a, int op, long id, ByteBuf body) {
        return List.of(Wire.frame(a, op, id, body));
    }

    @Override
    public CompletableFuture<BitSet> has(List<byte[]> sha256s) {
        List<CompletableFuture<BitSet>> parts = new ArrayList<>();
        for (int from = 0; from < sha256s.size(); from += Wire.MAX_BATCH) {
            List<byte[]> batch = List.copyOf(sha256s.subList(from, Math.min(sha256s.size(), from + Wire.MAX_BATCH)));
            for (byte[] h : batch) {
                if (h.length != 32) {
                    return CompletableFuture.failedFuture(new IllegalArgumentException("a SHA-256 is 32 bytes"));
                }
            }
            SimpleOp<BitSet> op = new SimpleOp<>(0, Wire.HAS_OK, null, (r, out) -> {
                long n = r.u32("HAS_OK count");
                if (n != batch.size()) {
                    throw new CorruptDataException("HAS_OK count " + n + ", expected " + batch.size());
                }
                byte[] bits = r.bytes((batch.size() + 7) / 8, "HAS_OK bitmap");
                r.end();
                out.complete(BitSet.valueOf(bits));
            });
            parts.add(op.result);
            startWith(op, a -> {
                ByteBuf b = a.buffer(4 + 32 * batch.size());
                b.writeIntLE(batch.size());
                for (byte[] h : batch) {
                    b.writeBytes(h);
                }
                return one(a, Wire.HAS, op.id, b);
            });
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(v -> {
            BitSet all = new BitSet(sha256s.size());
            for (int i = 0; i < parts.size(); i++) {
                BitSet p = parts.get(i).join();
                int base = i * Wire.MAX_BATCH;
                for (int b = p.nextSetBit(0); b >= 0; b = p.nextSetBit(b + 1)) {
                    all.set(base + b);
                }
            }
            return all;
        });
    }

    /** Starts {@code op} with an encoder that knows the op's id (set after construction). */
    private <T> void startWith(SimpleOp<T> op, java.util.function.Function<ByteBufAllocator, List<ByteBuf>> enc) {
        start(new Forward(op, enc));
    }

    /** An op whose id and future are those of {@code inner} but which encodes with {@code enc}. */
    private final class Forward extends Op {
        final SimpleOp<?> inner;
        final java.util.function.Function<ByteBufAllocator, List<ByteBuf>> enc;

        Forward(SimpleOp<?> inner, java.util.function.Function<ByteBufAllocator, List<ByteBuf>> enc) {
            super(inner.permits, inner.id);
            this.inner = inner;
            this.enc = enc;
        }

        @Override
        List<ByteBuf> encode(ByteBufAllocator alloc) {
            return enc.apply(alloc);
        }

        @Override
        void reply(Frame f) throws DedupException {
            inner.reply(f);
        }

        @Override
        void fail(Throwable t) {
            inner.fail(t);
        }

        @Override
        CompletableFuture<?> future() {
            return inner.result;
        }
    }

    @Override
    public CompletableFuture<PutResult> put(byte[] sha256, ByteBuffer raw) {
        if (sha256.length != 32) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("a SHA-256 is 32 bytes"));
        }
        if (raw.remaining() < 1 || raw.remaining() > Wire.MAX_BLOCK_BYTES) {
            return CompletableFuture.failedFuture(new LimitExceededException("block " + BlockStore.hex(sha256) + ": "
                    + raw.remaining() + " bytes outside 1.." + Wire.MAX_BLOCK_BYTES));
        }
        BlockCodecs.Encoded e = options.codecs().encode(raw);
        int permits = Math.min(budgetPermits, Math.max(1, e.length()));
        try {
            budget.acquire(permits);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new DedupException("interrupted waiting for the in-flight budget", ex));
        }
        byte[] sha = sha256.clone();
        SimpleOp<PutResult> op = new SimpleOp<>(permits, Wire.PUT_OK, null, (r, out) -> {
            long stored = r.u32("PUT_OK storedLength");
            Codec c = Codec.byId(r.u8("PUT_OK codec"));
            boolean present = r.u8("PUT_OK alreadyPresent") != 0;
            r.end();
            out.complete(new PutResult(e.rawLength(), (int) stored, c == null ? e.codec() : c, present));
        });
        startWith(op, a -> {
            ByteBuf h = a.buffer(37);
            h.writeBytes(sha);
            h.writeIntLE(e.rawLength());
            h.writeByte(e.codec().id());
            // a direct block (the engine's) goes to the socket as it is: Netty copies only heap bytes
            return one(a, Wire.PUT, op.id, Unpooled.wrappedBuffer(h, Unpooled.wrappedBuffer(e.data().duplicate())));
        });
        return op.result;
    }

    @Override
    public CompletableFuture<ByteBuffer> get(byte[] sha256) {
        if (sha256.length != 32) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("a SHA-256 is 32 bytes"));
        }
        int permits = Math.min(budgetPermits, GET_CHARGE);
        try {
            budget.acquire(permits);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new DedupException("interrupted waiting for the in-flight budget", ex));
        }
        byte[] sha = sha256.clone();
        CompletableFuture<ByteBuffer> verified = new CompletableFuture<>();
        SimpleOp<Object[]> op = new SimpleOp<>(permits, Wire.GET_OK, null, (r, out) -> {
            long rawLength = r.u32("GET_OK rawLength");
            int codecId = r.u8("GET_OK codec");
            Codec c = Codec.byId(codecId);
            if (c == null || rawLength < 1 || rawLength > Wire.MAX_BLOCK_BYTES || r.remaining() > rawLength) {
                throw new CorruptDataException("server " + options.server() + " GET_OK for " + BlockStore.hex(sha)
                        + ": codec " + codecId + " rawLength " + rawLength + " payload " + r.remaining());
            }
            out.complete(new Object[] {c, (int) rawLength, r.bytes(r.remaining(), "GET_OK payload")});
        });
        op.result.thenAcceptAsync(x -> {
            try {
                byte[] payload = (byte[]) x[2];
                String where = "server " + options.server() + " block " + BlockStore.hex(sha);
                byte[] raw = BlockCodecs.decode((Codec) x[0], payload, 0, payload.length, (int) x[1], where);
                byte[] got = BlockHasher.forThread().sha256(raw, 0, raw.length);
                if (!Arrays.equals(got, sha)) {
                    throw new HashMismatchException(where + ": received bytes hash to " + BlockStore.hex(got));
                }
                verified.complete(ByteBuffer.wrap(raw));
            } catch (DedupException e) {
                verified.completeExceptionally(e);
            }
        }, workers).exceptionally(t -> {
            verified.completeExceptionally(t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t);
            return null;
        });
        startWith(op, a -> one(a, Wire.GET, op.id, Unpooled.wrappedBuffer(sha)));
        return verified;
    }

    @Override
    public CompletableFuture<Void> commitManifest(String backupId, List<byte[]> sha256s) {
        try {
            ManifestFile.checkId(backupId);
        } catch (InvalidRequestException e) {
            return CompletableFuture.failedFuture(e);
        }
        List<byte[]> list = List.copyOf(sha256s);
        for (byte[] h : list) {
            if (h.length != 32) {
                return CompletableFuture.failedFuture(new IllegalArgumentException("a SHA-256 is 32 bytes"));
            }
        }
        return flush().thenCompose(v -> {
            SimpleOp<Void> op = new SimpleOp<>(0, Wire.OK, null, (r, out) -> out.complete(null));
            startWith(op, a -> {
                List<ByteBuf> frames = new ArrayList<>();
                for (int from = 0; from < list.size(); from += Wire.MAX_BATCH) {
                    int to = Math.min(list.size(), from + Wire.MAX_BATCH);
                    ByteBuf b = a.buffer(2 + backupId.length() + 4 + 32 * (to - from));
                    Wire.writeString(b, backupId);
                    b.writeIntLE(to - from);
                    for (int i = from; i < to; i++) {
                        b.writeBytes(list.get(i));
                    }
                    frames.add(Wire.frame(a, Wire.MANIFEST_PART, op.id, b));
                }
                ByteBuf c = a.buffer();
                Wire.writeString(c, backupId);
                c.writeLongLE(list.size());
                frames.add(Wire.frame(a, Wire.MANIFEST_COMMIT, op.id, c));
                return frames;
            });
            return op.result;
        });
    }

    @Override
    public CompletableFuture<List<ManifestInfo>> listManifests() {
        SimpleOp<List<ManifestInfo>> op = new SimpleOp<>(0, Wire.LIST_OK, null, (r, out) -> {
            long n = r.u32("LIST_OK count");
            if (n > ManifestFile.MAX_BLOCKS) {
                throw new LimitExceededException("LIST_OK count " + n);
            }
            List<ManifestInfo> ms = new ArrayList<>();
            for (long i = 0; i < n; i++) {
                String id = r.string(128, "backupId");
                ms.add(new ManifestInfo(id, r.i64("blockCount"), r.i64("logicalBytes"), Instant.ofEpochMilli(r.i64("committedAt"))));
            }
            r.end();
            out.complete(ms);
        });
        startWith(op, a -> one(a, Wire.LIST, op.id, a.buffer(0)));
        return op.result;
    }

    @Override
    public CompletableFuture<Boolean> deleteManifest(String backupId) {
        try {
            ManifestFile.checkId(backupId);
        } catch (InvalidRequestException e) {
            return CompletableFuture.failedFuture(e);
        }
        SimpleOp<Boolean> op = new SimpleOp<>(0, Wire.OK, null, (r, out) -> {
            boolean existed = r.u8("existed") != 0;
            r.end();
            out.complete(existed);
        });
        startWith(op, a -> {
            ByteBuf b = a.buffer();
            Wire.writeString(b, backupId);
            return one(a, Wire.DELETE_MANIFEST, op.id, b);
        });
        return op.result;
    }

    @Override
    public CompletableFuture<Void> flush() {
        List<CompletableFuture<?>> fs = new ArrayList<>();
        for (Op op : pending.values()) {
            fs.add(op.future().handle((v, e) -> null));
        }
        return CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new));
    }

    @Override
    public void close() throws DedupException {
        if (closing) {
            return;
        }
        try {
            flush().get(10, TimeUnit.MINUTES);
        } catch (Exception e) {
            log.warn("destination close without a clean flush server={}: {}", options.server(), e.toString());
        }
        closing = true;
        Channel ch = channel.getAndSet(null);
        if (ch != null && ch.isActive()) {
            ch.writeAndFlush(Wire.frame(ch.alloc(), Wire.FINISH, ids.incrementAndGet(), ch.alloc().buffer(0)));
            ch.closeFuture().awaitUninterruptibly(2000);
            ch.close();
        }
        failAll(new DedupException("session to " + options.server() + " closed"));
        shutdown();
    }

    private void shutdown() {
        closing = true;
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownNow();
    }

    /** Test hook: drops the current connection as a network failure would (the session resumes). */
    void dropConnectionForTest() {
        Channel ch = channel.get();
        if (ch != null) {
            ch.close();
        }
    }

    // ------------------------------------------------------------ inbound

    private final class ClientHandler extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<Void> hello;
        /** Requests for this connection not yet written (see {@link #send}). */
        final java.util.concurrent.ConcurrentLinkedQueue<Op> outbox = new java.util.concurrent.ConcurrentLinkedQueue<>();
        final java.util.concurrent.atomic.AtomicBoolean drainScheduled = new java.util.concurrent.atomic.AtomicBoolean();

        /** On the event loop: writes queued requests while the channel is writable, then flushes. */
        void drain(Channel ch) {
            boolean wrote = false;
            Op op;
            while (ch.isActive() && ch.isWritable() && (op = outbox.poll()) != null) {
                if (!pending.containsKey(op.id) || op.sentOn.get() != ch) {
                    continue; // answered or failed meanwhile, or moved to a newer connection
                }
                for (ByteBuf f : op.encode(ch.alloc())) {
                    wireBytesSent.addAndGet(f.readableBytes());
                    ch.write(f, ch.voidPromise());
                }
                wrote = true;
            }
            if (wrote) {
                ch.flush();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
            if (ctx.channel().isWritable()) {
                drain(ctx.channel());
            }
            super.channelWritabilityChanged(ctx);
        }

        ClientHandler(CompletableFuture<Void> hello) {
            this.hello = hello;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Frame f = (Frame) msg;
            try {
                if (f.opcode == Wire.HELLO_OK) {
                    Wire.Reader r = new Wire.Reader(f.body, "HELLO_OK");
                    int v = r.u16("version");
                    if (v != Wire.VERSION) {
                        hello.completeExceptionally(new UnsupportedVersionException("server " + options.server() + " chose version " + v));
                    } else {
                        hello.complete(null);
                    }
                    return;
                }
                if (f.opcode == Wire.ERROR) {
                    Wire.Reader r = new Wire.Reader(f.body, "server " + options.server() + " ERROR");
                    int code = r.u16("code");
                    r.u8("fatal");
                    String m = r.string(Wire.MAX_MESSAGE_BYTES, "message");
                    ErrorCode ec = ErrorCode.byCode(code);
                    RemoteException ex = new RemoteException(ec == null ? ErrorCode.MALFORMED_FRAME : ec,
                            "server " + options.server() + ": " + m);
                    if (!hello.isDone()) {
                        hello.completeExceptionally(ex);
                        return;
                    }
                    Op op = pending.remove(f.requestId);
                    if (op != null) {
                        op.done();
                        op.fail(ex);
                    } else {
                        log.warn("destination connection error server={}: {}", options.server(), ex.getMessage());
                    }
                    return;
                }
                Op op = pending.remove(f.requestId);
                if (op == null) {
                    return; // PONG, FINISH's OK, or a reply to a request already failed
                }
                op.done();
                try {
                    op.reply(f);
                } catch (DedupException | RuntimeException e) {
                    op.fail(e);
                }
            } catch (DedupException e) {
                log.warn("destination bad reply server={}: {}", options.server(), e.getMessage());
                ctx.close();
            } finally {
                f.release();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof IdleStateEvent e && hello.isDone()) {
                if (e.state() == io.netty.handler.timeout.IdleState.READER_IDLE) {
                    log.warn("destination silent server={} for {} ms; reconnecting", options.server(),
                            SILENT_PINGS * options.pingInterval().toMillis());
                    ctx.close();
                } else {
                    ctx.writeAndFlush(Wire.frame(ctx.alloc(), Wire.PING, ids.incrementAndGet(), ctx.alloc().buffer(0)));
                }
                return;
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            hello.completeExceptionally(new DedupException("server " + options.server() + " closed the connection during the handshake"));
            onDisconnect(ctx.channel());
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("destination connection failed server={}: {}", options.server(), cause.toString());
            hello.completeExceptionally(new DedupException("connection to " + options.server() + " failed: " + cause.getMessage(), cause));
            ctx.close();
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
