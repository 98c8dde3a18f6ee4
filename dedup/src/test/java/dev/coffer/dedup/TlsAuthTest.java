package dev.coffer.dedup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.testkit.Fixtures;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** TLS with client certificates and token over TLS, with certificates made by openssl in the test. */
@Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS) // a hang fails the test, never the build
class TlsAuthTest {
    @TempDir
    Path dir;

    DestinationServer server;

    private Path ca;
    private Path caKey;

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.stop();
        }
    }

    private void openssl(String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "openssl";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Fixtures.run(cmd);
    }

    /** A CA, and certificates signed by it (PKCS#8 EC P-256 keys, SAN IP:127.0.0.1). */
    private Path[] cert(String name, Path signerCert, Path signerKey) throws Exception {
        Path key = dir.resolve(name + ".key");
        Path csr = dir.resolve(name + ".csr");
        Path crt = dir.resolve(name + ".crt");
        Path ext = dir.resolve(name + ".ext");
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
        Files.writeString(ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                + "extendedKeyUsage=serverAuth,clientAuth\n");
        openssl("req", "-new", "-key", key.toString(), "-subj", "/CN=" + name, "-out", csr.toString());
        openssl("x509", "-req", "-in", csr.toString(), "-CA", signerCert.toString(), "-CAkey", signerKey.toString(),
                "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out", crt.toString());
        return new Path[] {crt, key};
    }

    private Path[] newCa(String name) {
        Path key = dir.resolve(name + ".key");
        Path crt = dir.resolve(name + ".crt");
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.toString(),
                "-subj", "/CN=" + name, "-days", "2", "-out", crt.toString());
        return new Path[] {crt, key};
    }

    @BeforeEach
    void makeCa() {
        Path[] c = newCa("ca");
        ca = c[0];
        caKey = c[1];
    }

    private InetSocketAddress loopback() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    }

    @Test
    void mutualTls_acceptsSignedClient_refusesMissingOrForeignCertificate() throws Exception {
        Path[] srv = cert("server", ca, caKey);
        Path[] cli = cert("client", ca, caKey);
        Path[] other = newCa("other");
        Path[] rogue = cert("rogue", other[0], other[1]);
        server = DestinationServer.start(ServerOptions.of(dir.resolve("store"), loopback(),
                ServerOptions.Auth.mutualTls(srv[0], srv[1], ca)));
        byte[] b = TestBlocks.random(1, 70_000);
        try (RemoteDestination d = RemoteDestination.connect(ClientOptions.mutualTls(server.address(), ca, cli[0], cli[1]))) {
            d.put(TestBlocks.sha(b), ByteBuffer.wrap(b)).join();
            assertThat(TestBlocks.bytes(d.get(TestBlocks.sha(b)).join())).isEqualTo(b);
        }
        assertThatThrownBy(() -> RemoteDestination.connect(ClientOptions.tlsToken(server.address(), ca, null)))
                .isInstanceOf(DedupException.class);
        assertThatThrownBy(() -> RemoteDestination.connect(ClientOptions.mutualTls(server.address(), ca, rogue[0], rogue[1])))
                .isInstanceOf(DedupException.class);
        // a plaintext client gets nowhere with a TLS server
        assertThatThrownBy(() -> RemoteDestination.connect(ClientOptions.plaintextLoopback(server.address(), null)))
                .isInstanceOf(DedupException.class);
        // and a client that does not trust the server's CA refuses it
        assertThatThrownBy(() -> RemoteDestination.connect(ClientOptions.mutualTls(server.address(), other[0], cli[0], cli[1])))
                .isInstanceOf(DedupException.class);
        try (RemoteDestination d = RemoteDestination.connect(ClientOptions.mutualTls(server.address(), ca, cli[0], cli[1]))) {
            assertThat(d.has(List.of(TestBlocks.sha(b))).join().get(0)).isTrue();
        }
    }

    @Test
    void tokenOverTls_acceptsRightToken_refusesWrongOne() throws Exception {
        Path[] srv = cert("server", ca, caKey);
        byte[] token = "a-long-random-token".getBytes(StandardCharsets.UTF_8);
        server = DestinationServer.start(ServerOptions.of(dir.resolve("store"), loopback(),
                ServerOptions.Auth.tlsToken(srv[0], srv[1], token)));
        try (RemoteDestination d = RemoteDestination.connect(ClientOptions.tlsToken(server.address(), ca, token))) {
            assertThat(d.listManifests().join()).isEmpty();
        }
        assertThatThrownBy(() -> RemoteDestination.connect(ClientOptions.tlsToken(server.address(), ca,
                "wrong".getBytes(StandardCharsets.UTF_8)))).isInstanceOf(RemoteException.class).hasMessageContaining("AUTH_FAILED");
    }
}
