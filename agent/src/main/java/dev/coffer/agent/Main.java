package dev.coffer.agent;

import dev.coffer.agent.cli.BackupLine;
import dev.coffer.agent.flr.RestoreLine;
import java.io.PrintWriter;
import picocli.CommandLine;

/**
 * The {@code coffer} executable: parses the command line, runs the command, and maps every outcome
 * to a documented exit code with a one-line error on stderr (see {@code docs/operations.md}).
 */
public final class Main {
    private Main() {}

    /** The long-running servers: they log through logback, which an operator can configure. */
    private static final java.util.Set<String> DAEMONS = java.util.Set.of("agent", "destination", "target");

    public static void main(String[] args) {
        if (args.length > 0 && DAEMONS.contains(args[0])) {
            CofferLogging.useLogback();
        }
        jnaSearchPathWithoutLdconfig();
        Warmup.start(args);
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * JNA builds its library search path, when it first loads, from the output of
     * {@code /sbin/ldconfig -p}: a child process on every start (~30 ms of a one-file restore). Coffer
     * loads only libc and libcrypto, by soname, which the system's loader finds itself; JNA's own search is
     * a fallback. Naming that fallback's directories (the multiarch and the plain ones, as JNA would
     * without ldconfig) skips the process. {@code -Djna.platform.library.path=...} still wins.
     */
    static void jnaSearchPathWithoutLdconfig() {
        if (System.getProperty("jna.platform.library.path") != null
                || !System.getProperty("os.name", "").startsWith("Linux")) {
            return;
        }
        String arch = switch (System.getProperty("os.arch", "")) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> null;
        };
        String multiarch = arch == null ? "" : "/usr/lib/" + arch + "-linux-gnu:/lib/" + arch + "-linux-gnu:";
        System.setProperty("jna.platform.library.path", multiarch + "/usr/lib64:/lib64:/usr/lib:/lib");
    }

    /** Runs one command line and returns its exit code; never calls {@code System.exit}. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        var restore = RestoreLine.parse(args, out);
        if (restore.isPresent()) {
            return CofferCommand.execute(restore.get(), err);
        }
        var backup = BackupLine.parse(args, out, err);
        if (backup.isPresent()) {
            return CofferCommand.execute(backup.get(), err);
        }
        CommandLine cli = CofferCommand.commandLine(args);
        cli.setOut(out);
        cli.setErr(err);
        return cli.execute(args);
    }
}
