package dev.coffer.dedup;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A bare destination server process: {@code java -cp ... dev.coffer.dedup.DestinationMain --store DIR
 * [--listen HOST:PORT] [--plaintext-loopback] [--token-file F] [--tls-cert F --tls-key F [--client-ca F]]}.
 * Prints {@code LISTENING host:port} on stdout once it serves, then runs until killed. Used by the
 * crash tests (killed with SIGKILL) and by the benchmark; operators use {@code coffer destination}.
 */
public final class DestinationMain {
    private DestinationMain() {}

    /** Parses the arguments, starts the server and waits forever. */
    public static void main(String[] args) throws Exception {
        Path store = null;
        InetSocketAddress listen = new InetSocketAddress(InetAddress.getLoopbackAddress(), 7443);
        boolean plaintext = false;
        byte[] token = null;
        Path cert = null;
        Path key = null;
        Path ca = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--store" -> store = Path.of(args[++i]);
                case "--listen" -> listen = parseAddress(args[++i]);
                case "--plaintext-loopback" -> plaintext = true;
                case "--token-file" -> token = Files.readString(Path.of(args[++i])).strip().getBytes(java.nio.charset.StandardCharsets.UTF_8);
                case "--tls-cert" -> cert = Path.of(args[++i]);
                case "--tls-key" -> key = Path.of(args[++i]);
                case "--client-ca" -> ca = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (store == null) {
            throw new IllegalArgumentException("--store DIR is required");
        }
        ServerOptions.Auth auth = new ServerOptions.Auth(cert, key, ca, token, plaintext);
        DestinationServer s = DestinationServer.start(ServerOptions.of(store, listen, auth));
        System.out.println("LISTENING " + s.address().getHostString() + ":" + s.address().getPort());
        System.out.flush();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                s.stop();
            } catch (java.io.IOException e) {
                System.err.println("stop failed: " + e.getMessage());
            }
        }));
        Thread.currentThread().join();
    }

    /** Parses {@code HOST:PORT} or {@code [V6]:PORT}. */
    public static InetSocketAddress parseAddress(String s) {
        int c = s.lastIndexOf(':');
        if (c <= 0) {
            throw new IllegalArgumentException("expected HOST:PORT, found '" + s + "'");
        }
        String host = s.substring(0, c);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new InetSocketAddress(host, Integer.parseInt(s.substring(c + 1)));
    }
}
