package dev.coffer.agent.restore;

import dev.coffer.agent.ExitCodes;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code coffer target}: runs the restore-target server inside the machine that receives restored
 * files. Prints {@code listening on HOST:PORT} once it accepts connections, then serves until
 * killed (SIGTERM/SIGINT stop it cleanly; uncommitted uploads stay resumable).
 */
@Command(name = "target", mixinStandardHelpOptions = true,
        description = "Run the restore-target server: accept authenticated file chunks over HTTP and write them under --root.")
public final class TargetCommand implements Callable<Integer> {
    /** Largest token file read: a token is a short secret, not a document. */
    static final int MAX_TOKEN_FILE_BYTES = 4096;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--listen", required = true, paramLabel = "HOST:PORT",
            description = "Address to listen on (port 0 picks a free port).")
    String listen;

    @Option(names = "--root", required = true, paramLabel = "DIR", description = "Directory the restored files go under.")
    Path root;

    @ArgGroup(exclusive = true, multiplicity = "1")
    TokenSource token;

    /** Exactly one of the two token options. */
    static final class TokenSource {
        @Option(names = "--token", paramLabel = "T", description = "Bearer token clients must present (visible in ps; prefer --token-file).")
        String value;

        @Option(names = "--token-file", paramLabel = "F", description = "File holding the bearer token (surrounding whitespace ignored).")
        Path file;
    }

    @Option(names = "--io-threads", defaultValue = "2", description = "Network event-loop threads (default: ${DEFAULT-VALUE}).")
    int ioThreads;

    @Option(names = "--file-threads", defaultValue = "4", description = "Threads writing and hashing files (default: ${DEFAULT-VALUE}).")
    int fileThreads;

    @Option(names = "--sidecar-metadata", description = "Keep NTFS metadata in NAME.coffer-meta.json files even where extended attributes work.")
    boolean sidecar;

    @Override
    public Integer call() throws Exception {
        InetSocketAddress address = parseListen(listen);
        String secret = token.value != null ? token.value : readToken(token.file);
        if (secret.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "the token is empty");
        }
        if (ioThreads < 1 || fileThreads < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "thread counts must be at least 1");
        }
        DirectoryTarget.Options d = DirectoryTarget.Options.defaults();
        if (sidecar) {
            d = new DirectoryTarget.Options(DirectoryTarget.MetadataMode.SIDECAR, d.syncEveryBytes(), d.maxOpenUploads());
        }
        DirectoryTarget target = DirectoryTarget.open(root, d);
        TargetServer.Options defaults = TargetServer.Options.defaults();
        TargetServer server = TargetServer.start(address, target,  secret, new TargetServer.Options(ioThreads,
                fileThreads, defaults.maxConnections(), defaults.idleTimeout(), defaults.uploadIdle()));
        Thread hook = new Thread(() -> {
            try {
                server.close();
            } catch (IOException e) {
                System.err.println("coffer: closing the restore target failed: " + e.getMessage());
            }
        }, "restore-target-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        InetSocketAddress bound = server.address();
        spec.commandLine().getOut().println("listening on " + bound.getHostString() + ":" + bound.getPort());
        spec.commandLine().getOut().flush();
        server.awaitClose();
        return ExitCodes.OK;
    }

    /** Parses {@code HOST:PORT} ({@code [v6addr]:PORT} for IPv6). */
    InetSocketAddress parseListen(String s) {
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--listen must be HOST:PORT, found '" + s + "'");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 0 || port > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--listen port must be 0..65535, found '"
                    + s.substring(colon + 1) + "'");
        }
        return new InetSocketAddress(host, port);
    }

    private String readToken(Path f) throws IOException {
        long size = Files.size(f);
        if (size > MAX_TOKEN_FILE_BYTES) {
            throw new CommandLine.ParameterException(spec.commandLine(), "token file " + f + " is " + size
                    + " bytes; a token file holds at most " + MAX_TOKEN_FILE_BYTES);
        }
        return new String(Files.readAllBytes(f), StandardCharsets.UTF_8).strip();
    }
}
