package dev.coffer.agent.destination;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.coffer.agent.ExitCodes;
import dev.coffer.dedup.BlockStore;
import dev.coffer.dedup.DestinationMain;
import dev.coffer.dedup.DestinationServer;
import dev.coffer.dedup.GcReport;
import dev.coffer.dedup.ServerOptions;
import dev.coffer.dedup.StoreStats;
import dev.coffer.dedup.VerifyReport;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code coffer destination}: runs the destination server over a block store, and maintains the store
 * ({@code verify}, {@code gc}, {@code stats}). Protocol: docs/protocol.md; store: docs/store.md.
 */
@Command(mixinStandardHelpOptions = true, name = "destination",
        description = "Serve a block store to agents (docs/protocol.md), or maintain it: verify, gc, stats.",
        subcommands = {DestinationCommand.Verify.class, DestinationCommand.Gc.class, DestinationCommand.Stats.class})
public final class DestinationCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    // not required = true: picocli would then demand it of "destination stats --store X" too
    @Option(names = "--store", description = "Store directory (created if absent). Required to serve.")
    Path store;

    @Option(names = "--listen", defaultValue = "127.0.0.1:7443", description = "HOST:PORT to listen on (default ${DEFAULT-VALUE}).")
    String listen;

    @Option(names = "--token-file", description = "File holding the pre-shared token clients must send.")
    Path tokenFile;

    @Option(names = "--tls-cert", description = "Server certificate chain (PEM).")
    Path tlsCert;

    @Option(names = "--tls-key", description = "Server private key (PKCS#8 PEM).")
    Path tlsKey;

    @Option(names = "--client-ca", description = "CA (PEM) that signs client certificates; makes them required.")
    Path clientCa;

    @Option(names = "--plaintext-loopback", description = "Serve without TLS; only on a loopback address, to loopback peers.")
    boolean plaintextLoopback;

    /** Set by tests and the daemon to stop a running server; the CLI runs until SIGINT/SIGTERM. */
    final CountDownLatch stop = new CountDownLatch(1);

    @Override
    public Integer call() throws Exception {
        if (store == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--store=<store>'");
        }
        byte[] token = tokenFile == null ? null : Files.readString(tokenFile, StandardCharsets.UTF_8).strip()
                .getBytes(StandardCharsets.UTF_8);
        if (token != null && token.length == 0) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "token file " + tokenFile + " is empty");
        }
        ServerOptions.Auth auth;
        try {
            auth = new ServerOptions.Auth(tlsCert, tlsKey, clientCa, token, plaintextLoopback);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage()
                    + " (use --tls-cert/--tls-key with --client-ca or --token-file, or --plaintext-loopback)");
        }
        InetSocketAddress address;
        try {
            address = DestinationMain.parseAddress(listen);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--listen: " + e.getMessage());
        }
        dev.coffer.agent.SqliteNative.loadForStorage();
        DestinationServer server = DestinationServer.start(ServerOptions.of(store, address, auth));
        Thread hook = new Thread(stop::countDown);
        Runtime.getRuntime().addShutdownHook(hook);
        PrintWriter out = spec.commandLine().getOut();
        out.println("coffer destination listening on " + server.address().getHostString() + ":" + server.address().getPort()
                + " store " + store.toAbsolutePath());
        out.flush();
        try {
            stop.await();
        } finally {
            server.stop();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is exiting: the hook already ran
            }
        }
        return ExitCodes.OK;
    }

    static void printJson(PrintWriter out, Object doc) throws java.io.IOException {
        out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
        out.flush();
    }

    /** {@code coffer destination verify}: re-reads and re-hashes every block; exit 1 when anything is damaged. */
    @Command(mixinStandardHelpOptions = true, name = "verify", description = "Re-read and re-hash every stored block; report damage by backup.")
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--store", required = true, description = "Store directory.")
        Path store;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            requireStore(spec, store);
            PrintWriter out = spec.commandLine().getOut();
            VerifyReport r;
            dev.coffer.agent.SqliteNative.loadForStorage();
            try (BlockStore s = BlockStore.open(store)) {
                r = s.verify();
            }
            if (json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("ok", r.ok());
                doc.put("blocksChecked", r.blocksChecked());
                doc.put("bytesChecked", r.bytesChecked());
                doc.put("damaged", r.damaged());
                doc.put("damagedBlocksByBackup", r.damagedBlocksByBackup());
                printJson(out, doc);
            } else {
                out.printf("checked %,d blocks (%,d stored bytes)%n", r.blocksChecked(), r.bytesChecked());
                r.damaged().forEach(l -> out.println("damaged: " + l));
                r.damagedBlocksByBackup().forEach((b, n) -> out.printf("backup %s: %,d damaged or missing blocks%n", b, n));
                out.println(r.ok() ? "ok" : "DAMAGED");
                out.flush();
            }
            return r.ok() ? ExitCodes.OK : ExitCodes.FAILED;
        }
    }

    /** {@code coffer destination gc}: collects blocks no committed manifest references. */
    @Command(mixinStandardHelpOptions = true, name = "gc", description = "Delete blocks no committed backup references and compact pack files.")
    static final class Gc implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--store", required = true, description = "Store directory.")
        Path store;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            requireStore(spec, store);
            GcReport r;
            // offline GC: the store lock guarantees no server runs on it; grace 0 so nothing stale is kept
            dev.coffer.agent.SqliteNative.loadForStorage();
            try (BlockStore s = BlockStore.open(store, new dev.coffer.dedup.StoreOptions(0, 0, 0, 0, java.time.Duration.ZERO))) {
                r = s.gc();
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                printJson(out, r);
            } else {
                out.printf("live blocks %,d; deleted %,d blocks (%,d raw bytes); rewrote %d packs, reclaimed %,d bytes%n",
                        r.liveBlocks(), r.deletedBlocks(), r.deletedRawBytes(), r.packsRewritten(), r.bytesReclaimed());
                out.flush();
            }
            return ExitCodes.OK;
        }
    }

    /** {@code coffer destination stats}: blocks, bytes and the dedup ratio. */
    @Command(mixinStandardHelpOptions = true, name = "stats", description = "Blocks, logical vs stored bytes, dedup ratio.")
    static final class Stats implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--store", required = true, description = "Store directory.")
        Path store;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            requireStore(spec, store);
            StoreStats st;
            dev.coffer.agent.SqliteNative.loadForStorage();
            try (BlockStore s = BlockStore.open(store)) {
                st = s.stats();
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("blocks", st.blocks());
                doc.put("rawBytes", st.rawBytes());
                doc.put("storedBytes", st.storedBytes());
                doc.put("packFiles", st.packFiles());
                doc.put("packBytes", st.packBytes());
                doc.put("manifests", st.manifests());
                doc.put("logicalBytes", st.logicalBytes());
                doc.put("dedupRatio", st.dedupRatio());
                printJson(out, doc);
            } else {
                out.printf("blocks        %,d%n", st.blocks());
                out.printf("raw bytes     %,d%n", st.rawBytes());
                out.printf("stored bytes  %,d%n", st.storedBytes());
                out.printf("pack files    %,d (%,d bytes)%n", st.packFiles(), st.packBytes());
                out.printf("manifests     %,d%n", st.manifests());
                out.printf("logical bytes %,d%n", st.logicalBytes());
                out.printf("dedup ratio   %.2f%n", st.dedupRatio());
                out.flush();
            }
            return ExitCodes.OK;
        }
    }

    static void requireStore(CommandSpec spec, Path store) throws java.nio.file.NoSuchFileException {
        if (!Files.isDirectory(store.resolve("packs")) || !Files.exists(store.resolve("index.db"))) {
            throw new java.nio.file.NoSuchFileException(store.toString(), null, "not a Coffer block store");
        }
    }
}
