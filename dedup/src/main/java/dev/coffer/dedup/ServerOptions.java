package dev.coffer.dedup;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything a {@link DestinationServer} needs. Zero or null knobs take the defaults of {@link #withDefaults()}.
 *
 * @param storeDir the block store directory
 * @param listen address to bind (port 0 picks a free port)
 * @param auth how peers authenticate
 * @param idleTimeout a connection that sends nothing for this long is closed
 * @param handshakeTimeout a connection that has not completed HELLO in this time is closed
 * @param maxConnections connections beyond this are refused with LIMIT_EXCEEDED
 * @param memoryBudgetBytes bytes of request data held across all connections before reading stops
 * @param connectionWindowBytes bytes of request data one connection may hold
 * @param ioThreads Netty event-loop threads
 * @param storeThreads threads that run store calls (never the event loop)
 * @param storeOptions knobs of the block store
 */
public record ServerOptions(Path storeDir, InetSocketAddress listen, Auth auth, Duration idleTimeout,
        Duration handshakeTimeout, int maxConnections, long memoryBudgetBytes, long connectionWindowBytes,
        int ioThreads, int storeThreads, StoreOptions storeOptions) {

    /**
     * Authentication of a server: TLS (with a required client certificate when {@code clientCaPem} is
     * set), a pre-shared token, or plaintext limited to loopback. At least one of TLS or plaintextLoopback.
     *
     * @param certChainPem server certificate chain (PEM), or null for plaintext
     * @param keyPem server private key (PKCS#8 PEM), or null
     * @param clientCaPem CA that signs client certificates; set = client certificates required
     * @param token pre-shared token bytes the client must send in HELLO, or null
     * @param plaintextLoopback allow plaintext, loopback peers only
     */
    public record Auth(Path certChainPem, Path keyPem, Path clientCaPem, byte[] token, boolean plaintextLoopback) {
        /** Validates the combination. */
        public Auth {
            boolean tls = certChainPem != null || keyPem != null;
            if (tls && (certChainPem == null || keyPem == null)) {
                throw new IllegalArgumentException("TLS needs both a certificate chain and a key");
            }
            if (tls == plaintextLoopback) {
                throw new IllegalArgumentException("choose exactly one of TLS or plaintext-loopback");
            }
            if (clientCaPem != null && !tls) {
                throw new IllegalArgumentException("client certificates need TLS");
            }
            if (tls && clientCaPem == null && token == null) {
                throw new IllegalArgumentException("TLS needs a client CA or a token to authenticate clients");
            }
            token = token == null ? null : token.clone();
        }

        /** Plaintext on loopback, with an optional token. */
        public static Auth plaintextLoopback(byte[] token) {
            return new Auth(null, null, null, token, true);
        }

        /** TLS with a required client certificate signed by {@code clientCaPem}. */
        public static Auth mutualTls(Path certChainPem, Path keyPem, Path clientCaPem) {
            return new Auth(certChainPem, keyPem, clientCaPem, null, false);
        }

        /** TLS with a pre-shared token. */
        public static Auth tlsToken(Path certChainPem, Path keyPem, byte[] token) {
            return new Auth(certChainPem, keyPem, null, token, false);
        }

        boolean tls() {
            return certChainPem != null;
        }
    }

    /** Options with defaults for a store and an address. */
    public static ServerOptions of(Path storeDir, InetSocketAddress listen, Auth auth) {
        return new ServerOptions(storeDir, listen, auth, null, null, 0, 0, 0, 0, 0, null).withDefaults();
    }

    /** This record with every unset knob replaced by its default. */
    public ServerOptions withDefaults() {
        return new ServerOptions(storeDir, listen, auth,
                // 60 s: clients PING every 20 s; longer silence means a dead or stuck peer
                idleTimeout != null ? idleTimeout : Duration.ofSeconds(60),
                // 10 s: a TLS handshake + HELLO takes milliseconds; thousands of idle sockets must not linger
                handshakeTimeout != null ? handshakeTimeout : Duration.ofSeconds(10),
                // 1024: a destination serves tens of controllers with a few connections each
                maxConnections > 0 ? maxConnections : 1024,
                // 512 MiB: ~1.5 s of data at 300 MB/s in flight; far below the JVM heap
                memoryBudgetBytes > 0 ? memoryBudgetBytes : 512L << 20,
                // 64 MiB: 64 blocks of 1 MiB pipelined per connection keep a 2-core server busy
                connectionWindowBytes > 0 ? connectionWindowBytes : 64L << 20,
                ioThreads > 0 ? ioThreads : Math.max(1, Runtime.getRuntime().availableProcessors()),
                storeThreads > 0 ? storeThreads : 4,
                storeOptions != null ? storeOptions : StoreOptions.defaults());
    }
}
