package dev.coffer.dedup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A real server and client over loopback. */
@Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS) // a hang fails the test, never the build
class RemoteDestinationTest {
    static final byte[] TOKEN = "s3cret-token".getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    DestinationServer server;

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.stop();
        }
    }

    private DestinationServer start(ServerOptions.Auth auth) throws Exception {
        server = DestinationServer.start(ServerOptions.of(dir.resolve("store"),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), auth));
        return server;
    }

    private RemoteDestination client(byte[] token) throws DedupException {
        return RemoteDestination.connect(ClientOptions.plaintextLoopback(server.address(), token));
    }

    @Test
    void upload_dedupHit_download_commit_list_delete() throws Exception {
        start(ServerOptions.Auth.plaintextLoopback(TOKEN));
        byte[] media = TestBlocks.random(1, 1 << 20);
        byte[] log = TestBlocks.text(2, 1 << 20);
        try (RemoteDestination d = client(TOKEN)) {
            assertThat(d.has(List.of(TestBlocks.sha(media), TestBlocks.sha(log))).join().cardinality()).isZero();
            PutResult pm = d.put(TestBlocks.sha(media), ByteBuffer.wrap(media)).join();
            PutResult pl = d.put(TestBlocks.sha(log), ByteBuffer.wrap(log)).join();
            assertThat(pm.alreadyPresent()).isFalse();
            assertThat(pm.codec()).isEqualTo(Codec.RAW);
            assertThat(pl.codec()).isEqualTo(Codec.ZSTD);
            assertThat(pl.storedLength()).isLessThan(log.length / 3);
            assertThat(d.put(TestBlocks.sha(log), ByteBuffer.wrap(log)).join().alreadyPresent()).isTrue();
            BitSet bits = d.has(List.of(TestBlocks.sha(media), TestBlocks.sha(new byte[] {7}), TestBlocks.sha(log))).join();
            assertThat(bits.get(0)).isTrue();
            assertThat(bits.get(1)).isFalse();
            assertThat(bits.get(2)).isTrue();
            assertThat(TestBlocks.bytes(d.get(TestBlocks.sha(media)).join())).isEqualTo(media);
            assertThat(TestBlocks.bytes(d.get(TestBlocks.sha(log)).join())).isEqualTo(log);
            assertThatThrownBy(() -> d.get(TestBlocks.sha(new byte[] {7})).join())
                    .hasCauseInstanceOf(RemoteException.class).hasMessageContaining("NOT_FOUND");
            d.commitManifest("vm1-2026-11-22", List.of(TestBlocks.sha(media), TestBlocks.sha(log), TestBlocks.sha(media))).join();
            assertThatThrownBy(() -> d.commitManifest("bad", List.of(TestBlocks.sha(new byte[] {7}))).join())
                    .hasCauseInstanceOf(RemoteException.class).hasMessageContaining("MISSING_BLOCKS");
            List<ManifestInfo> ms = d.listManifests().join();
            assertThat(ms).singleElement().satisfies(m -> {
                assertThat(m.backupId()).isEqualTo("vm1-2026-11-22");
                assertThat(m.blockCount()).isEqualTo(3);
                assertThat(m.logicalBytes()).isEqualTo(3L << 20);
            });
            assertThat(d.deleteManifest("vm1-2026-11-22").join()).isTrue();
            assertThat(d.deleteManifest("vm1-2026-11-22").join()).isFalse();
            assertThat(d.listManifests().join()).isEmpty();
        }
        GcReport gc = server.store().gc();
        // both blocks were asked about just now: the grace window keeps them
        assertThat(gc.deletedBlocks()).isZero();
    }

    @Test
    void largeManifest_spansManyParts() throws Exception {
        start(ServerOptions.Auth.plaintextLoopback(null));
        byte[] b = TestBlocks.random(9, 4096);
        List<byte[]> list = new ArrayList<>();
        for (int i = 0; i < Wire.MAX_BATCH * 2 + 17; i++) {
            list.add(TestBlocks.sha(b));
        }
        try (RemoteDestination d = client(null)) {
            d.put(TestBlocks.sha(b), ByteBuffer.wrap(b)).join();
            d.commitManifest("big", list).join();
            assertThat(d.listManifests().join().get(0).blockCount()).isEqualTo(list.size());
        }
    }

    @Test
    void pipelinedUploads_allAcknowledgedAndReadable() throws Exception {
        start(ServerOptions.Auth.plaintextLoopback(null));
        List<byte[]> blocks = new ArrayList<>();
        List<CompletableFuture<PutResult>> fs = new ArrayList<>();
        try (RemoteDestination d = RemoteDestination.connect(
                ClientOptions.plaintextLoopback(server.address(), null).withMaxInFlightBytes(4 << 20))) {
            for (int i = 0; i < 64; i++) {
                byte[] b = i % 2 == 0 ? TestBlocks.random(i, 256 << 10) : TestBlocks.text(i, 256 << 10);
                blocks.add(b);
                fs.add(d.put(TestBlocks.sha(b), ByteBuffer.wrap(b)));
            }
            CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
            for (byte[] b : blocks) {
                assertThat(TestBlocks.bytes(d.get(TestBlocks.sha(b)).join())).isEqualTo(b);
            }
        }
        assertThat(server.store().stats().blocks()).isEqualTo(64);
        assertThat(server.store().verify().ok()).isTrue();
    }

    @Test
    void badToken_isRefused() throws Exception {
        start(ServerOptions.Auth.plaintextLoopback(TOKEN));
        assertThatThrownBy(() -> client("wrong".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(RemoteException.class).hasMessageContaining("AUTH_FAILED");
        assertThatThrownBy(() -> client(null)).isInstanceOf(RemoteException.class).hasMessageContaining("AUTH_FAILED");
        try (RemoteDestination d = client(TOKEN)) { // the server keeps serving
            assertThat(d.listManifests().join()).isEmpty();
        }
    }

    @Test
    void plaintextClient_refusesNonLoopbackAndMissingOptIn() {
        assertThatThrownBy(() -> RemoteDestination.connect(new ClientOptions(new InetSocketAddress("192.0.2.1", 1), null,
                null, null, null, true, 0, 0, null, null, null))).isInstanceOf(DedupException.class).hasMessageContaining("loopback");
        assertThatThrownBy(() -> RemoteDestination.connect(new ClientOptions(new InetSocketAddress("127.0.0.1", 1), null,
                null, null, null, false, 0, 0, null, null, null))).isInstanceOf(DedupException.class).hasMessageContaining("plaintext");
    }

    @Test
    void plaintextServer_refusesNonLoopbackAddress() {
        assertThatThrownBy(() -> DestinationServer.start(ServerOptions.of(dir, new InetSocketAddress("0.0.0.0", 0),
                ServerOptions.Auth.plaintextLoopback(null)))).isInstanceOf(DedupException.class).hasMessageContaining("loopback");
    }

    // ---------------------------------------------------------------- hostile peers over a raw socket

    static byte[] frame(int op, long id, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(16 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(body.length).putShort((short) 0xC0FE).put((byte) op).put((byte) 0).putLong(id).put(body);
        return b.array();
    }

    static byte[] hello(int min, int max, byte[] token) {
        byte[] name = "raw".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + token.length + name.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort((short) min).putShort((short) max).putShort((short) token.length).put(token)
                .putShort((short) name.length).put(name);
        return frame(Wire.HELLO, 0, b.array());
    }

    /** Reads frames until an ERROR; returns its code, or -1 if the server closed without one. */
    static int errorCode(Socket s) throws IOException {
        DataInputStream in = new DataInputStream(s.getInputStream());
        while (true) {
            byte[] h = new byte[16];
            try {
                in.readFully(h);
            } catch (java.io.EOFException e) {
                return -1;
            }
            ByteBuffer hb = ByteBuffer.wrap(h).order(ByteOrder.LITTLE_ENDIAN);
            int len = hb.getInt(0);
            int op = hb.get(6) & 0xFF;
            byte[] body = new byte[len];
            in.readFully(body);
            if (op == Wire.ERROR) {
                return ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN).getShort(0);
            }
        }
    }

    static boolean closedByPeer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        try {
            while (in.read() >= 0) {
                // drain
            }
            return true;
        } catch (java.net.SocketException e) {
            return true; // reset also counts
        }
    }

    private int send(byte[]... frames) throws IOException {
        try (Socket s = new Socket(server.address().getAddress(), server.address().getPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            for (byte[] f : frames) {
                out.write(f);
            }
            out.flush();
            int code = errorCode(s);
            assertThat(closedByPeer(s)).isTrue();
            return code;
        }
    }

    @Test
    void hostileFrames_getErrorCodesAndClosedConnections_serverKeepsServing() throws Exception {
        start(ServerOptions.Auth.plaintextLoopback(TOKEN));
        byte[] okHello = hello(1, 1, TOKEN);
        assertThat(send(hello(2, 3, TOKEN))).isEqualTo(ErrorCode.UNSUPPORTED_VERSION.code());
        assertThat(send(hello(1, 1, "nope".getBytes(StandardCharsets.UTF_8)))).isEqualTo(ErrorCode.AUTH_FAILED.code());
        assertThat(send(frame(Wire.LIST, 1, new byte[0]))).isEqualTo(ErrorCode.PROTOCOL_STATE.code());
        byte[] badMagic = frame(Wire.LIST, 1, new byte[0]);
        badMagic[4] = 0;
        assertThat(send(okHello, badMagic)).isEqualTo(ErrorCode.MALFORMED_FRAME.code());
        assertThat(send(okHello, frame(0x55, 1, new byte[0]))).isEqualTo(ErrorCode.UNKNOWN_OPCODE.code());
        byte[] huge = frame(Wire.PUT, 1, new byte[0]);
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(0, Wire.MAX_BODY_BYTES + 1);
        assertThat(send(okHello, huge)).isEqualTo(ErrorCode.FRAME_TOO_LARGE.code());
        byte[] preAuthBig = frame(Wire.HELLO, 0, new byte[0]);
        ByteBuffer.wrap(preAuthBig).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 100_000);
        assertThat(send(preAuthBig)).isEqualTo(ErrorCode.FRAME_TOO_LARGE.code());
        assertThat(send(okHello, frame(Wire.HAS, 1, new byte[] {5, 0, 0, 0, 1, 2}))).isEqualTo(ErrorCode.MALFORMED_FRAME.code());
        assertThat(send(okHello, frame(Wire.HAS, 1, new byte[] {0, 0, 0, 0}))).isEqualTo(ErrorCode.LIMIT_EXCEEDED.code());
        assertThat(send(okHello, okHello)).isEqualTo(ErrorCode.PROTOCOL_STATE.code());
        // a payload bigger than its raw length is refused: stored data is never bigger than raw
        ByteBuffer put = ByteBuffer.allocate(37 + 20).order(ByteOrder.LITTLE_ENDIAN);
        put.put(new byte[32]).putInt(10).put((byte) Codec.LZ4.id()).put(new byte[20]);
        assertThat(send(okHello, frame(Wire.PUT, 1, put.array()))).isEqualTo(ErrorCode.MALFORMED_FRAME.code());
        try (RemoteDestination d = client(TOKEN)) {
            assertThat(d.listManifests().join()).isEmpty();
        }
    }

    @Test
    void blockWhoseBytesDoNotMatchItsHash_isRefusedAndNotStored() throws Exception {
        start(ServerOptions.Auth.plaintextLoopback(null));
        byte[] data = TestBlocks.random(3, 5000);
        byte[] wrong = TestBlocks.sha(new byte[] {1, 2, 3});
        ByteBuffer put = ByteBuffer.allocate(37 + data.length).order(ByteOrder.LITTLE_ENDIAN);
        put.put(wrong).putInt(data.length).put((byte) 0).put(data);
        try (Socket s = new Socket(server.address().getAddress(), server.address().getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(hello(1, 1, new byte[0]));
            s.getOutputStream().write(frame(Wire.PUT, 7, put.array()));
            assertThat(errorCode(s)).isEqualTo(ErrorCode.HASH_MISMATCH.code());
        }
        assertThat(server.store().has(wrong)).isFalse();
        // the same through the client API: a caller that lies about the hash gets HASH_MISMATCH
        try (RemoteDestination d = client(null)) {
            assertThatThrownBy(() -> d.put(wrong, ByteBuffer.wrap(data)).join()).hasMessageContaining("HASH_MISMATCH");
            assertThat(d.put(TestBlocks.sha(data), ByteBuffer.wrap(data)).join().alreadyPresent()).isFalse();
        }
    }

    @Test
    void idleAndSilentConnections_areClosed() throws Exception {
        server = DestinationServer.start(new ServerOptions(dir.resolve("store"),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), ServerOptions.Auth.plaintextLoopback(null),
                java.time.Duration.ofMillis(800), java.time.Duration.ofMillis(500), 50, 0, 0, 0, 0, null));
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 200; i++) { // more than maxConnections: the extra ones are refused at once
                Socket s = new Socket(server.address().getAddress(), server.address().getPort());
                s.setSoTimeout(10_000);
                idle.add(s);
            }
            int limit = 0;
            int timeout = 0;
            for (Socket s : idle) {
                int code = errorCode(s);
                if (code == ErrorCode.LIMIT_EXCEEDED.code()) {
                    limit++;
                } else if (code == ErrorCode.IDLE_TIMEOUT.code()) {
                    timeout++;
                }
            }
            assertThat(limit).isGreaterThanOrEqualTo(150);
            assertThat(limit + timeout).isEqualTo(200);
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
        Thread.sleep(200);
        assertThat(server.connections().get()).isZero();
        try (RemoteDestination d = client(null)) {
            assertThat(d.listManifests().join()).isEmpty();
        }
    }

    @Test
    void droppedConnectionMidUpload_resumesWithoutLossOrResendingAcknowledged() throws Exception {
        start(ServerOptions.Auth.plaintextLoopback(null));
        int n = 48;
        List<byte[]> blocks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            blocks.add(TestBlocks.random(1000 + i, 512 << 10));
        }
        try (RemoteDestination d = RemoteDestination.connect(
                ClientOptions.plaintextLoopback(server.address(), null).withMaxInFlightBytes(8 << 20))) {
            List<CompletableFuture<PutResult>> fs = new ArrayList<>();
            List<Integer> ackedBeforeDrop = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                fs.add(d.put(TestBlocks.sha(blocks.get(i)), ByteBuffer.wrap(blocks.get(i))));
                if (i == n / 2) {
                    for (int j = 0; j < fs.size(); j++) {
                        if (fs.get(j).isDone()) {
                            ackedBeforeDrop.add(j);
                        }
                    }
                    d.dropConnectionForTest();
                }
            }
            CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
            assertThat(d.reconnects()).isGreaterThanOrEqualTo(1);
            long wire = d.wireBytesSent();
            long payload = (long) n * (512 << 10);
            // everything sent at most once more than needed, acknowledged blocks never again
            long unacked = n - ackedBeforeDrop.size();
            assertThat(wire).isLessThanOrEqualTo(payload + unacked * (512L << 10) + 100_000);
            for (int i = 0; i < n; i++) {
                assertThat(TestBlocks.bytes(d.get(TestBlocks.sha(blocks.get(i))).join())).isEqualTo(blocks.get(i));
            }
            List<byte[]> shas = blocks.stream().map(TestBlocks::sha).toList();
            d.commitManifest("resumed", shas).join();
        }
        assertThat(server.store().stats().blocks()).isEqualTo(n);
        assertThat(server.store().verify().ok()).isTrue();
    }

    @Test
    void serverRestart_clientResumes() throws Exception {
        start(ServerOptions.Auth.plaintextLoopback(null));
        InetSocketAddress addr = server.address();
        byte[] a = TestBlocks.random(1, 100_000);
        byte[] b = TestBlocks.random(2, 100_000);
        try (RemoteDestination d = client(null)) {
            d.put(TestBlocks.sha(a), ByteBuffer.wrap(a)).join();
            server.stop();
            CompletableFuture<PutResult> f = d.put(TestBlocks.sha(b), ByteBuffer.wrap(b));
            Thread.sleep(300);
            server = DestinationServer.start(ServerOptions.of(dir.resolve("store"), addr, ServerOptions.Auth.plaintextLoopback(null)));
            assertThat(f.join().alreadyPresent()).isFalse();
            assertThat(TestBlocks.bytes(d.get(TestBlocks.sha(a)).join())).isEqualTo(a);
        }
    }

    @Test
    void aServerThatGoesSilentWithoutClosing_isLeftAndTheRequestResumedElsewhere() throws Exception {
        start(ServerOptions.Auth.plaintextLoopback(null));
        // a relay between client and server that can stop forwarding while keeping both connections open:
        // what a crashed host or a broken network path looks like to the client (no FIN, no RST)
        try (ServerSocket relay = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            AtomicBoolean frozen = new AtomicBoolean();
            Thread acceptor = new Thread(() -> {
                while (!relay.isClosed()) {
                    try {
                        Socket in = relay.accept();
                        Socket out = new Socket(server.address().getAddress(), server.address().getPort());
                        pump(in, out, frozen);
                        pump(out, in, frozen);
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "relay");
            acceptor.setDaemon(true);
            acceptor.start();
            InetSocketAddress via = new InetSocketAddress(InetAddress.getLoopbackAddress(), relay.getLocalPort());
            byte[] a = TestBlocks.random(1, 100_000);
            byte[] b = TestBlocks.random(2, 100_000);
            try (RemoteDestination d = RemoteDestination.connect(ClientOptions.plaintextLoopback(via, null)
                    .withPingInterval(java.time.Duration.ofMillis(300)))) {
                d.put(TestBlocks.sha(a), ByteBuffer.wrap(a)).get(30, TimeUnit.SECONDS);
                frozen.set(true); // the old connection goes quiet in both directions, and stays open
                CompletableFuture<PutResult> f = d.put(TestBlocks.sha(b), ByteBuffer.wrap(b));
                Thread.sleep(100);
                frozen.set(false); // new connections are relayed again; the frozen ones are not
                assertThat(f.get(30, TimeUnit.SECONDS).alreadyPresent()).isFalse();
                assertThat(d.reconnects()).isEqualTo(1);
                assertThat(TestBlocks.bytes(d.get(TestBlocks.sha(b)).get(30, TimeUnit.SECONDS))).isEqualTo(b);
            }
        }
    }

    /** Copies {@code from} to {@code to} on a thread; a connection that was frozen once stays frozen. */
    private static void pump(Socket from, Socket to, AtomicBoolean frozen) {
        Thread t = new Thread(() -> {
            boolean dead = false;
            byte[] buf = new byte[65536];
            try (from; to) {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    dead |= frozen.get();
                    if (!dead) {
                        out.write(buf, 0, n);
                    }
                }
            } catch (IOException e) {
                // either side closed
            }
        }, "relay-pump");
        t.setDaemon(true);
        t.start();
    }

}
