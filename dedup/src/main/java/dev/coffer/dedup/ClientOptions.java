package dev.coffer.dedup;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

/**
 * How a {@link RemoteDestination} connects. Zero or null knobs take the defaults of {@link #withDefaults()}.
 *
 * @param server the destination's address
 * @param serverCaPem CA (or self-signed certificate) that signs the server's certificate; null = plaintext
 * @param clientCertPem client certificate chain for mutual TLS, or null
 * @param clientKeyPem client private key (PKCS#8 PEM), or null
 * @param token pre-shared token sent in HELLO, or null
 * @param plaintextLoopback must be true to connect without TLS (and the server must be on loopback)
 * @param maxInFlightBytes stored bytes of puts sent but not yet acknowledged before {@code put} blocks
 * @param maxReconnectAttempts reconnects tried after a drop before pending requests fail
 * @param pingInterval a quiet session sends PING this often (a third of the server's idle timeout)
 * @param codecs compression policy
 * @param clientName sent in HELLO for the server's logs
 */
public record ClientOptions(InetSocketAddress server, Path serverCaPem, Path clientCertPem, Path clientKeyPem,
        byte[] token, boolean plaintextLoopback, long maxInFlightBytes, int maxReconnectAttempts,
        Duration pingInterval, BlockCodecs codecs, String clientName) {

    /** Plaintext to a loopback server, with an optional token. */
    public static ClientOptions plaintextLoopback(InetSocketAddress server, byte[] token) {
        return new ClientOptions(server, null, null, null, token, true, 0, 0, null, null, null).withDefaults();
    }

    /** TLS with a token. */
    public static ClientOptions tlsToken(InetSocketAddress server, Path serverCaPem, byte[] token) {
        return new ClientOptions(server, serverCaPem, null, null, token, false, 0, 0, null, null, null).withDefaults();
    }

    /** Mutual TLS. */
    public static ClientOptions mutualTls(InetSocketAddress server, Path serverCaPem, Path certPem, Path keyPem) {
        return new ClientOptions(server, serverCaPem, certPem, keyPem, null, false, 0, 0, null, null, null).withDefaults();
    }

    /** This record with every unset knob replaced by its default. */
    public ClientOptions withDefaults() {
        return new ClientOptions(server, serverCaPem, clientCertPem, clientKeyPem, token, plaintextLoopback,
                // 64 MiB: matches the server's per-connection window, so the pipe stays full without waiting on it
                maxInFlightBytes > 0 ? maxInFlightBytes : 64L << 20,
                // 20 attempts with backoff capped at 5 s: rides out a destination restart of ~1.5 min
                maxReconnectAttempts > 0 ? maxReconnectAttempts : 20,
                pingInterval != null ? pingInterval : Duration.ofSeconds(20),
                codecs != null ? codecs : BlockCodecs.defaults(),
                clientName != null ? clientName : "coffer-agent");
    }

    /** A copy with another in-flight budget. */
    public ClientOptions withMaxInFlightBytes(long bytes) {
        return new ClientOptions(server, serverCaPem, clientCertPem, clientKeyPem, token, plaintextLoopback, bytes,
                maxReconnectAttempts, pingInterval, codecs, clientName);
    }

    /** A copy with another reconnect limit. */
    public ClientOptions withMaxReconnectAttempts(int attempts) {
        return new ClientOptions(server, serverCaPem, clientCertPem, clientKeyPem, token, plaintextLoopback,
                maxInFlightBytes, attempts, pingInterval, codecs, clientName);
    }

    /** A copy with another ping interval (a server silent for three of them counts as gone). */
    public ClientOptions withPingInterval(java.time.Duration interval) {
        return new ClientOptions(server, serverCaPem, clientCertPem, clientKeyPem, token, plaintextLoopback,
                maxInFlightBytes, maxReconnectAttempts, interval, codecs, clientName);
    }
}
