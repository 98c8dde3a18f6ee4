package dev.coffer.dedup;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server connection: handshake, authentication, request dispatch to the store executor, replies,
 * and the reasons a connection is closed. Stateful; one per channel.
 */
final class ServerHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ServerHandler.class);
    /** Manifests one connection may be receiving at once (each has a temp file). */
    static final int MAX_OPEN_MANIFESTS = 8;

    private final DestinationServer server;
    private final String peer;
    private ChannelHandlerContext ctx;
    private boolean hello;
    private boolean counted;
    private boolean closing;
    /** Serialises manifest parts and commits of this connection, in arrival order, on the store executor. */
    private CompletableFuture<Void> manifestChain = CompletableFuture.completedFuture(null);
    /** requestId -> temp file receiving that manifest's parts; touched only in manifestChain tasks. */
    private final Map<Long, PartsFile> parts = new HashMap<>();
    private int openManifests; // event-loop view, bounds the map above

    private static final class PartsFile {
        final Path path;
        final OutputStream out;
        final String backupId;
        long count;

        PartsFile(Path path, String backupId) throws IOException {
            this.path = path;
            this.backupId = backupId;
            this.out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 16);
        }
    }

    ServerHandler(DestinationServer server, String peer) {
        this.server = server;
        this.peer = peer;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        int n = server.connections().incrementAndGet();
        counted = true;
        if (server.stopping()) {
            fatal(0, ErrorCode.SHUTTING_DOWN, "server is stopping");
            return;
        }
        if (n > server.options().maxConnections()) {
            fatal(0, ErrorCode.LIMIT_EXCEEDED, "too many connections (" + server.options().maxConnections() + ")");
            return;
        }
        if (!server.options().auth().tls()
                && !((InetSocketAddress) ctx.channel().remoteAddress()).getAddress().isLoopbackAddress()) {
            fatal(0, ErrorCode.AUTH_FAILED, "plaintext connections are accepted from loopback only");
            return;
        }
        ctx.executor().schedule(() -> {
            if (!hello && ctx.channel().isActive()) {
                fatal(0, ErrorCode.IDLE_TIMEOUT, "no HELLO within " + server.options().handshakeTimeout().toMillis() + " ms");
            }
        }, server.options().handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        super.channelActive(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (counted) {
            server.connections().decrementAndGet();
            counted = false;
        }
        manifestChain = manifestChain.handle((v, e) -> null).thenRunAsync(this::discardParts, server.storeExecutor());
        super.channelInactive(ctx);
    }

    private void discardParts() {
        for (PartsFile p : parts.values()) {
            try {
                p.out.close();
                Files.deleteIfExists(p.path);
            } catch (IOException e) {
                log.warn("destination cannot delete temp file={}: {}", p.path, e.toString());
            }
        }
        parts.clear();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent e) {
            fatal(0, ErrorCode.IDLE_TIMEOUT, "connection " + e.state() + " for " + server.options().idleTimeout().toMillis() + " ms");
            return;
        }
        if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess()) {
            log.info("destination closing peer={} code=AUTH_FAILED reason=\"TLS handshake failed: {}\"", peer,
                    e.cause() == null ? "?" : e.cause().getMessage());
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause;
        while (c.getCause() != null && !(c instanceof FrameDecoder.FrameException)) {
            c = c.getCause();
        }
        if (c instanceof FrameDecoder.FrameException fe) {
            fatal(0, fe.code, fe.getMessage());
        } else if (c instanceof IOException) {
            log.debug("destination connection error peer={}: {}", peer, c.toString());
            ctx.close();
        } else {
            log.warn("destination closing peer={} reason=\"{}\"", peer, c.toString());
            ctx.close();
        }
    }

    /** Sends an ERROR frame; for fatal codes logs the reason and closes after it is written. */
    private void fatal(long requestId, ErrorCode code, String message) {
        if (closing) {
            return;
        }
        closing = true;
        ctx.channel().config().setAutoRead(false);
        log.info("destination closing peer={} code={} reason=\"{}\"", peer, code, message);
        ctx.writeAndFlush(Wire.error(ctx.alloc(), requestId, code, message)).addListener(ChannelFutureListener.CLOSE);
    }

    private void reply(long requestId, int opcode, ByteBuf body, MemoryBudget.Lease lease) {
        if (!ctx.executor().inEventLoop()) {
            ctx.executor().execute(() -> reply(requestId, opcode, body, lease));
            return;
        }
        if (!ctx.channel().isActive()) {
            body.release();
            release(lease);
            return;
        }
        ctx.writeAndFlush(Wire.frame(ctx.alloc(), opcode, requestId, body)).addListener(f -> release(lease));
    }

    private void replyError(long requestId, Throwable t, MemoryBudget.Lease lease) {
        Throwable c = t;
        while ((c instanceof java.util.concurrent.CompletionException || c instanceof java.util.concurrent.ExecutionException)
                && c.getCause() != null) {
            c = c.getCause();
        }
        ErrorCode code;
        if (c instanceof HashMismatchException) {
            code = ErrorCode.HASH_MISMATCH;
        } else if (c instanceof BlockNotFoundException) {
            code = ErrorCode.NOT_FOUND;
        } else if (c instanceof MissingBlocksException) {
            code = ErrorCode.MISSING_BLOCKS;
        } else if (c instanceof CorruptDataException) {
            code = ErrorCode.CORRUPT_BLOCK;
        } else if (c instanceof InvalidRequestException) {
            code = ErrorCode.INVALID_ARGUMENT;
        } else if (c instanceof LimitExceededException) {
            code = ErrorCode.LIMIT_EXCEEDED;
        } else {
            code = ErrorCode.STORE_IO;
            log.warn("destination request failed peer={} request={}: {}", peer, requestId, c.toString());
        }
        String msg = String.valueOf(c.getMessage());
        if (code.fatal()) {
            ctx.executor().execute(() -> {
                release(lease);
                fatal(requestId, code, msg);
            });
        } else {
            log.debug("destination request error peer={} request={} code={} reason=\"{}\"", peer, requestId, code, msg);
            ByteBuf frame = Wire.error(ctx.alloc(), requestId, code, msg);
            ctx.executor().execute(() -> {
                if (ctx.channel().isActive()) {
                    ctx.writeAndFlush(frame).addListener(f -> release(lease));
                } else {
                    frame.release();
                    release(lease);
                }
            });
        }
    }

    private static void release(MemoryBudget.Lease lease) {
        if (lease != null) {
            lease.release();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Frame f = (Frame) msg;
        MemoryBudget.Lease lease = f.lease();
        try {
            if (closing) {
                release(lease);
                return;
            }
            String where = peer + " request " + f.requestId + " op 0x" + Integer.toHexString(f.opcode);
            Wire.Reader r = new Wire.Reader(f.body, where);
            if (!hello) {
                if (f.opcode != Wire.HELLO) {
                    release(lease);
                    fatal(f.requestId, ErrorCode.PROTOCOL_STATE, where + ": first frame must be HELLO");
                    return;
                }
                onHello(f, r);
                release(lease);
                return;
            }
            switch (f.opcode) {
                case Wire.HAS -> {
                    byte[][] hashes = r.hashes(1, Wire.MAX_BATCH, "HAS");
                    r.end();
                    CompletableFuture.supplyAsync(() -> {
                        BitSet bits = server.store().hasAll(List.of(hashes));
                        ByteBuf b = ctx.alloc().buffer(4 + (hashes.length + 7) / 8);
                        b.writeIntLE(hashes.length);
                        byte[] bytes = new byte[(hashes.length + 7) / 8];
                        byte[] set = bits.toByteArray(); // little-endian bit order, LSB first: the wire layout
                        System.arraycopy(set, 0, bytes, 0, Math.min(set.length, bytes.length));
                        b.writeBytes(bytes);
                        return b;
                    }, server.storeExecutor()).whenComplete((b, e) -> {
                        if (e != null) {
                            replyError(f.requestId, e, lease);
                        } else {
                            reply(f.requestId, Wire.HAS_OK, b, lease);
                        }
                    });
                }
                case Wire.PUT -> {
                    byte[] sha = r.bytes(32, "PUT sha256");
                    long rawLength = r.u32("PUT rawLength");
                    int codecId = r.u8("PUT codec");
                    Codec codec = Codec.byId(codecId);
                    int storedLength = r.remaining();
                    if (codec == null) {
                        throw new CorruptDataException(where + ": unknown codec " + codecId);
                    }
                    if (rawLength < 1 || rawLength > Wire.MAX_BLOCK_BYTES) {
                        throw new LimitExceededException(where + ": rawLength " + rawLength + " outside 1.." + Wire.MAX_BLOCK_BYTES);
                    }
                    if (storedLength < 1 || storedLength > rawLength || (codec == Codec.RAW && storedLength != rawLength)) {
                        throw new CorruptDataException(where + ": payload of " + storedLength + " bytes for a "
                                + rawLength + "-byte " + codec + " block (stored data is never bigger than raw)");
                    }
                    // the payload is handed to the store in place (no copy); the frame stays alive until the
                    // store has written it or given up on it. The store checks it off the event loop.
                    java.nio.ByteBuffer[] payload = f.body.nioBuffers(f.body.readerIndex(), storedLength);
                    long id = f.requestId;
                    f.retain();
                    server.store().putVerified(sha, (int) rawLength, codec, payload, f::release)
                            .whenComplete((res, e) -> {
                                if (e != null) {
                                    replyError(id, e, lease);
                                } else {
                                    ByteBuf b = ctx.alloc().buffer(6);
                                    b.writeIntLE(res.storedLength());
                                    b.writeByte(res.codec().id());
                                    b.writeByte(res.alreadyPresent() ? 1 : 0);
                                    reply(id, Wire.PUT_OK, b, lease);
                                }
                            });
                }
                case Wire.GET -> {
                    byte[] sha = r.bytes(32, "GET sha256");
                    r.end();
                    long id = f.requestId;
                    release(lease);
                    CompletableFuture.supplyAsync(() -> {
                        try {
                            return server.store().load(sha);
                        } catch (DedupException e) {
                            throw new java.util.concurrent.CompletionException(e);
                        }
                    }, server.storeExecutor()).whenComplete((l, e) -> {
                        if (e != null) {
                            replyError(id, e, null);
                        } else {
                            // the reply is counted until written, so clients that do not read stop being served
                            MemoryBudget.Lease out = server.budget().reserveUnconditionally(l.payload().remaining(),
                                    ctx.pipeline().get(FrameDecoder.class) == null ? new java.util.concurrent.atomic.AtomicLong()
                                            : ctx.pipeline().get(FrameDecoder.class).connUsed());
                            ByteBuf b = ctx.alloc().buffer(5);
                            b.writeIntLE(l.raw().remaining());
                            b.writeByte(l.codec().id());
                            reply(id, Wire.GET_OK, io.netty.buffer.Unpooled.wrappedBuffer(b,
                                    io.netty.buffer.Unpooled.wrappedBuffer(l.payload())), out);
                        }
                    });
                }
                case Wire.MANIFEST_PART -> {
                    String backupId = r.string(128, "backupId");
                    byte[][] hashes = r.hashes(0, Wire.MAX_BATCH, "MANIFEST_PART");
                    r.end();
                    ManifestFile.checkId(backupId);
                    long id = f.requestId;
                    boolean isNew = !partsSeen.contains(id);
                    if (isNew) {
                        if (openManifests >= MAX_OPEN_MANIFESTS) {
                            throw new LimitExceededException(where + ": more than " + MAX_OPEN_MANIFESTS + " manifests open");
                        }
                        openManifests++;
                        partsSeen.add(id);
                    }
                    chain(() -> {
                        PartsFile p = parts.get(id);
                        if (p == null) {
                            p = new PartsFile(server.store().newTempFile("parts"), backupId);
                            parts.put(id, p);
                        }
                        if (!p.backupId.equals(backupId)) {
                            throw new InvalidRequestException(where + ": parts for " + p.backupId + " and " + backupId + " share a request id");
                        }
                        if (p.count + hashes.length > ManifestFile.MAX_BLOCKS) {
                            throw new LimitExceededException(where + ": manifest over " + ManifestFile.MAX_BLOCKS + " blocks");
                        }
                        for (byte[] h : hashes) {
                            p.out.write(h);
                        }
                        p.count += hashes.length;
                        return null;
                    }, id, lease, false);
                }
                case Wire.MANIFEST_COMMIT -> {
                    String backupId = r.string(128, "backupId");
                    long total = r.i64("totalCount");
                    r.end();
                    ManifestFile.checkId(backupId);
                    long id = f.requestId;
                    if (partsSeen.remove(id)) {
                        openManifests--;
                    }
                    chain(() -> {
                        PartsFile p = parts.remove(id);
                        if (p == null) {
                            if (total != 0) {
                                throw new InvalidRequestException(where + ": commit of " + total + " blocks without parts");
                            }
                            server.store().commitManifest(backupId, java.util.Collections.emptyIterator());
                            return okBody(-1);
                        }
                        try {
                            p.out.close();
                            if (p.count != total || !p.backupId.equals(backupId)) {
                                throw new InvalidRequestException(where + ": manifest " + backupId + " totalCount " + total
                                        + " but " + p.count + " hashes received for " + p.backupId);
                            }
                            try (InputStream in = new BufferedInputStream(Files.newInputStream(p.path), 1 << 16)) {
                                server.store().commitManifest(backupId, hashIterator(in, p.count));
                            }
                        } finally {
                            Files.deleteIfExists(p.path);
                        }
                        return okBody(-1);
                    }, id, lease, true);
                }
                case Wire.LIST -> {
                    r.end();
                    long id = f.requestId;
                    chainFree(() -> {
                        List<ManifestInfo> ms = server.store().listManifests();
                        ByteBuf b = ctx.alloc().buffer();
                        b.writeIntLE(ms.size());
                        for (ManifestInfo m : ms) {
                            Wire.writeString(b, m.backupId());
                            b.writeLongLE(m.blockCount());
                            b.writeLongLE(m.logicalBytes());
                            b.writeLongLE(m.committedAt().toEpochMilli());
                        }
                        return b;
                    }, id, lease, Wire.LIST_OK);
                }
                case Wire.DELETE_MANIFEST -> {
                    String backupId = r.string(128, "backupId");
                    r.end();
                    ManifestFile.checkId(backupId);
                    long id = f.requestId;
                    chainFree(() -> okBody(server.store().deleteManifest(backupId) ? 1 : 0), id, lease, Wire.OK);
                }
                case Wire.PING -> {
                    r.end();
                    reply(f.requestId, Wire.PONG, ctx.alloc().buffer(0), lease);
                }
                case Wire.FINISH -> {
                    r.end();
                    release(lease);
                    closing = true;
                    ctx.writeAndFlush(Wire.frame(ctx.alloc(), Wire.OK, f.requestId, ctx.alloc().buffer(0)))
                            .addListener(ChannelFutureListener.CLOSE);
                }
                case Wire.HELLO -> {
                    release(lease);
                    fatal(f.requestId, ErrorCode.PROTOCOL_STATE, where + ": second HELLO");
                }
                default -> {
                    release(lease);
                    fatal(f.requestId, ErrorCode.UNKNOWN_OPCODE, where + ": not a request opcode");
                }
            }
        } catch (DedupException e) {
            release(lease);
            ErrorCode code = e instanceof LimitExceededException ? ErrorCode.LIMIT_EXCEEDED
                    : e instanceof InvalidRequestException ? ErrorCode.INVALID_ARGUMENT : ErrorCode.MALFORMED_FRAME;
            if (code == ErrorCode.INVALID_ARGUMENT) {
                ctx.writeAndFlush(Wire.error(ctx.alloc(), f.requestId, code, e.getMessage()));
            } else {
                fatal(f.requestId, code, e.getMessage());
            }
        } finally {
            f.release();
        }
    }

    private final java.util.Set<Long> partsSeen = new java.util.HashSet<>();

    private ByteBuf okBody(int flag) {
        ByteBuf b = ctx.alloc().buffer(1);
        if (flag >= 0) {
            b.writeByte(flag);
        }
        return b;
    }

    private interface StoreTask<T> {
        T run() throws IOException;
    }

    /** Runs a manifest task after the previous ones of this connection; replies OK only when {@code replies}. */
    private void chain(StoreTask<ByteBuf> task, long requestId, MemoryBudget.Lease lease, boolean replies) {
        manifestChain = manifestChain.thenRunAsync(() -> {
            try {
                ByteBuf b = task.run();
                if (replies) {
                    reply(requestId, Wire.OK, b, lease);
                } else {
                    if (b != null) {
                        b.release();
                    }
                    release(lease);
                }
            } catch (IOException | RuntimeException e) {
                replyError(requestId, e, lease);
            }
        }, server.storeExecutor());
    }

    /** Runs a store task on the store executor (no ordering) and replies with {@code opcode}. */
    private void chainFree(StoreTask<ByteBuf> task, long requestId, MemoryBudget.Lease lease, int opcode) {
        server.storeExecutor().execute(() -> {
            try {
                reply(requestId, opcode, task.run(), lease);
            } catch (IOException | RuntimeException e) {
                replyError(requestId, e, lease);
            }
        });
    }

    private static Iterator<byte[]> hashIterator(InputStream in, long count) {
        return new Iterator<>() {
            long left = count;

            @Override
            public boolean hasNext() {
                return left > 0;
            }

            @Override
            public byte[] next() {
                if (left <= 0) {
                    throw new NoSuchElementException();
                }
                left--;
                try {
                    byte[] b = in.readNBytes(32);
                    if (b.length != 32) {
                        throw new java.io.UncheckedIOException(new java.io.EOFException("manifest parts file truncated"));
                    }
                    return b;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
    }

    private void onHello(Frame f, Wire.Reader r) throws DedupException {
        int min = r.u16("minVersion");
        int max = r.u16("maxVersion");
        int tokenLength = r.u16("tokenLength");
        if (tokenLength > Wire.MAX_TOKEN_BYTES) {
            throw new LimitExceededException(peer + " HELLO: token length " + tokenLength + " over " + Wire.MAX_TOKEN_BYTES);
        }
        byte[] token = r.bytes(tokenLength, "token");
        String name = r.string(Wire.MAX_NAME_BYTES, "client name");
        r.end();
        if (min > Wire.VERSION || max < Wire.VERSION || min > max) {
            fatal(f.requestId, ErrorCode.UNSUPPORTED_VERSION, "client speaks versions " + min + ".." + max
                    + ", this server speaks " + Wire.VERSION);
            return;
        }
        byte[] expected = server.options().auth().token();
        if (expected != null && !MessageDigest.isEqual(expected, token)) {
            fatal(f.requestId, ErrorCode.AUTH_FAILED, "bad token from client '" + name.replaceAll("[^\\x20-\\x7e]", "?") + "'");
            return;
        }
        if (server.options().auth().clientCaPem() != null) {
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            try {
                if (ssl == null || ssl.engine().getSession().getPeerCertificates().length == 0) {
                    fatal(f.requestId, ErrorCode.AUTH_FAILED, "no client certificate");
                    return;
                }
            } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                fatal(f.requestId, ErrorCode.AUTH_FAILED, "client certificate not verified");
                return;
            }
        }
        hello = true;
        FrameDecoder d = ctx.pipeline().get(FrameDecoder.class);
        d.maxBody(Wire.MAX_BODY_BYTES);
        log.info("destination session peer={} client=\"{}\" version={}", peer, name.replaceAll("[^\\x20-\\x7e]", "?"), Wire.VERSION);
        ByteBuf b = ctx.alloc().buffer(14);
        b.writeShortLE(Wire.VERSION);
        b.writeIntLE(Wire.MAX_BODY_BYTES);
        b.writeIntLE(Wire.MAX_BLOCK_BYTES);
        b.writeIntLE((int) Math.min(Integer.MAX_VALUE, server.options().connectionWindowBytes()));
        ctx.writeAndFlush(Wire.frame(ctx.alloc(), Wire.HELLO_OK, f.requestId, b));
    }
}
