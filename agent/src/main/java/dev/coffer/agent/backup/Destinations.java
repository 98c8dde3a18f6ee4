package dev.coffer.agent.backup;

import dev.coffer.agent.config.AgentConfig;
import dev.coffer.dedup.ClientOptions;
import dev.coffer.dedup.Destination;
import dev.coffer.dedup.LocalDestination;
import dev.coffer.dedup.RemoteDestination;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens the destination a configuration names: an embedded store, or a remote server. */
public final class Destinations {
    /** A token file larger than this is not a token (guards memory). */
    private static final long MAX_TOKEN_BYTES = 4096;

    private Destinations() {}

    /** An embedded store in {@code dir} (created when absent), in this process. */
    public static Destination embedded(Path dir) throws IOException {
        Files.createDirectories(dir);
        return LocalDestination.open(dir);
    }

    /** Opens {@code spec}: embedded for a store directory, else a TLS/token/plaintext session. */
    public static Destination open(AgentConfig.Destination spec) throws IOException {
        return open(spec, false);
    }

    /**
     * Opens {@code spec}; with {@code forReading} an embedded store must exist and is opened for reading
     * only (a restore: no recovery, nothing written, other readers allowed).
     */
    public static Destination open(AgentConfig.Destination spec, boolean forReading) throws IOException {
        if (spec.store().isPresent()) {
            return forReading ? LocalDestination.openForReading(spec.store().get()) : embedded(spec.store().get());
        }
        String address = spec.address().orElseThrow();
        int colon = address.lastIndexOf(':');
        String host = address.substring(0, colon).replace("[", "").replace("]", "");
        int port = Integer.parseInt(address.substring(colon + 1));
        InetSocketAddress addr = new InetSocketAddress(host, port);
        byte[] token = spec.tokenFile().isPresent() ? token(spec.tokenFile().get()) : null;
        ClientOptions options;
        if (spec.plaintext()) {
            if (token == null) {
                throw new IOException("destination " + address + ": plaintext needs --token-file");
            }
            options = ClientOptions.plaintextLoopback(addr, token);
        } else if (spec.tlsCert().isPresent()) {
            options = ClientOptions.mutualTls(addr, spec.tlsCa().orElse(null), spec.tlsCert().get(), spec.tlsKey().orElseThrow());
        } else if (token != null) {
            options = ClientOptions.tlsToken(addr, spec.tlsCa().orElse(null), token);
        } else {
            throw new IOException("destination " + address + ": give --token-file or --tls-cert/--tls-key (it authenticates)");
        }
        return RemoteDestination.connect(options);
    }

    /** How the catalog names a destination, so it can tell which blocks each one holds. */
    public static String name(AgentConfig.Destination spec) {
        return spec.store().map(p -> "local:" + p.toAbsolutePath().normalize())
                .orElseGet(() -> "remote:" + spec.address().orElseThrow());
    }

    private static byte[] token(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_TOKEN_BYTES) {
            throw new IOException(file + ": " + size + " bytes is not a token file");
        }
        String t = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (t.isEmpty()) {
            throw new IOException(file + ": the token file is empty");
        }
        return t.getBytes(StandardCharsets.UTF_8);
    }
}
