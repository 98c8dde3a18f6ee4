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
    static final java.util.Set<String> DAEMONS = java.util.Set.of("agent", "destination", "target");

    public static void main(String[] args) {
        boolean daemon = args.length > 0 && DAEMONS.contains(args[0]);
        if (daemon) {
            CofferLogging.useLogback();
        } else {
            jreLocaleData();
            julLines();
        }
        jnaSearchPathWithoutLdconfig();
        defaultSelectorProviderByName();
        Warmup.start(args);
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * The short commands read the JRE's older locale data (COMPAT) on JDKs before 21. sqlite-jdbc builds
     * a date formatter for its first connection, and the default CLDR data costs ~45 ms of CPU to answer
     * its first question (the first day of the week); COMPAT answers in a few ms and reads the same for
     * what Coffer prints (ISO dates, numbers). JDK 21 deprecates COMPAT with a warning on every start and
     * JDK 23 removes it, so later JDKs keep the default, as do the daemons. Set here rather than by the
     * launcher, which would need the JDK's version before starting it (two child processes, ~8 ms): the
     * JDK reads the property when a locale service is first used, after {@code main} starts.
     * {@code -Djava.locale.providers=...} still wins.
     */
    static void jreLocaleData() {
        if (System.getProperty("java.locale.providers") == null && Runtime.version().feature() < 21) {
            System.setProperty("java.locale.providers", "COMPAT");
        }
    }

    /**
     * The short commands configure java.util.logging with {@link JulLines} (stderr lines, no
     * {@code logging.properties} read), unless the command line names a configuration of its own.
     */
    static void julLines() {
        if (System.getProperty("java.util.logging.config.class") == null
                && System.getProperty("java.util.logging.config.file") == null) {
            System.setProperty("java.util.logging.config.class", JulLines.class.getName());
        }
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

    /** The JDK's own NIO provider on Linux, the one {@code SelectorProvider.provider()} picks by default. */
    static final String LINUX_SELECTOR_PROVIDER = "sun.nio.ch.EPollSelectorProvider";

    /**
     * The first socket channel asks {@code ServiceLoader} for a selector provider before it takes the
     * JDK's default, and the lookup reads {@code coffer.jar}'s directory of 8,000 entries (~20 ms): on a
     * restore through the agent nothing else opens the jar. Naming the default (on Linux, when this JDK
     * has it, and when the command line names no provider) skips the lookup; the provider is the same.
     */
    static void defaultSelectorProviderByName() {
        String key = "java.nio.channels.spi.SelectorProvider";
        if (System.getProperty(key) != null || !System.getProperty("os.name", "").startsWith("Linux")) {
            return;
        }
        try {
            Class<?> c = Class.forName(LINUX_SELECTOR_PROVIDER, false, null);
            if (java.nio.channels.spi.SelectorProvider.class.isAssignableFrom(c)) {
                System.setProperty(key, LINUX_SELECTOR_PROVIDER);
            }
        } catch (ClassNotFoundException | LinkageError e) {
            // another JDK: its lookup as usual
        }
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
