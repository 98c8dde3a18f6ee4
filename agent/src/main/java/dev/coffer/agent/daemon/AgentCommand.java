package dev.coffer.agent.daemon;

import dev.coffer.agent.ExitCodes;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code coffer agent --config FILE}: runs the daemon until SIGTERM or SIGINT (graceful stop: running
 * jobs are cancelled and run again at the next start); SIGHUP reloads the config.
 */
@Command(name = "agent", mixinStandardHelpOptions = true,
        description = {"Run the backup agent daemon: policies, triggers, job queue and the query API.",
                "SIGHUP reloads the config (a bad one is rejected and the old one kept); SIGTERM stops gracefully."})
public final class AgentCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(AgentCommand.class);

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The agent's YAML config.")
    Path config;

    @Option(names = "--snapshot-poll-millis", hidden = true, paramLabel = "MS",
            description = "How often snapshot directories are listed (tests; default 5000).")
    long snapshotPollMillis = DaemonOptions.defaults().snapshotPollMillis();

    @Override
    public Integer call() throws Exception {
        daemonLogging();
        DaemonOptions options = DaemonOptions.defaults();
        if (snapshotPollMillis < 50 || snapshotPollMillis > 3_600_000) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "--snapshot-poll-millis: expected 50..3600000, found " + snapshotPollMillis);
        }
        options = options.withPeriods(Math.min(options.tickMillis(), snapshotPollMillis), snapshotPollMillis);
        AgentDaemon daemon = new AgentDaemon(config, options, Clock.systemDefaultZone());
        daemon.start();
        Thread hook = new Thread(daemon::stop, "coffer-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        installHup(daemon);
        daemon.awaitStop();
        return ExitCodes.OK;
    }

    /** SIGHUP → reload, when the JVM lets us handle signals (sun.misc.Signal is not a public API). */
    private static void installHup(AgentDaemon daemon) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> {
                try {
                    daemon.reload();
                } catch (Exception e) {
                    // reload() has logged why; the previous config stays in effect
                }
            });
        } catch (IllegalArgumentException | LinkageError | UnsupportedOperationException e) {
            log.warn("SIGHUP cannot be handled here error=\"{}\"; reload with POST /v1/reload", e.toString());
        }
    }

    /** The daemon logs job lifecycle at INFO unless COFFER_LOG_LEVEL says otherwise. */
    private static void daemonLogging() {
        if (System.getenv("COFFER_LOG_LEVEL") != null) {
            return;
        }
        if (LoggerFactory.getLogger("dev.coffer") instanceof ch.qos.logback.classic.Logger l) {
            l.setLevel(ch.qos.logback.classic.Level.INFO);
        }
    }
}
