package dev.coffer.agent.daemon;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import dev.coffer.agent.config.AgentConfig;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trigger thread: evaluates every policy's cron schedules against the clock each tick, and lists
 * each datastore's snapshot directory every poll period, queueing backups through the daemon.
 *
 * <p>Cron: a schedule fires when one of its times falls in (previous tick, now]; several times passed
 * in one tick (a clock jump) fire once. Snapshots: a name never seen before on a datastore fires its
 * {@code on_new_snapshot} policies; when several new names appear in one listing (the agent was down)
 * only the newest (by directory modification time, then name) is backed up. The first listing of a
 * datastore the state file has never seen only records what is there. Names starting with '.' are
 * ignored (a snapshot tool's work in progress).
 */
final class Triggers {
    private static final Logger log = LoggerFactory.getLogger(Triggers.class);
    private static final CronParser CRON = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
    /** Entries read from one snapshot directory: 10,000 is decades of hourly snapshots after expiry. */
    static final int MAX_SNAPSHOTS = 10_000;

    private final AgentDaemon daemon;
    private final Clock clock;
    private final DaemonOptions options;
    private final StateStore state;
    private final Map<String, ExecutionTime> cron = new HashMap<>();
    private Thread thread;
    private volatile boolean running;
    private Instant lastTick;
    private long lastPollNanos = Long.MIN_VALUE;

    Triggers(AgentDaemon daemon, Clock clock, DaemonOptions options, StateStore state) {
        this.daemon = daemon;
        this.clock = clock;
        this.options = options;
        this.state = state;
    }

    /**
     * Runs the first evaluation in the caller's thread (so the snapshot baseline is taken before the
     * query API answers: a snapshot made after the daemon says it is up is always new), then the thread.
     */
    void start() {
        lastTick = clock.instant();
        tick();
        running = true;
        thread = new Thread(this::loop, "coffer-triggers");
        thread.setDaemon(true);
        thread.start();
    }

    void stop() throws InterruptedException {
        running = false;
        if (thread != null) {
            thread.interrupt();
            thread.join(10_000);
        }
    }

    private void loop() {
        while (running) {
            try {
                tick();
            } catch (RuntimeException e) {
                log.error("trigger tick failed error=\"{}\"", e.toString(), e);
            }
            try {
                Thread.sleep(options.tickMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One evaluation: cron times passed since the previous tick, then (when due) the snapshot listings. */
    void tick() {
        AgentConfig cfg = daemon.config();
        Instant now = clock.instant();
        Instant prev = lastTick;
        lastTick = now;
        if (now.isAfter(prev)) {
            for (AgentConfig.Policy p : cfg.policies()) {
                for (String s : p.schedules()) {
                    Optional<ZonedDateTime> next = execution(s).nextExecution(prev.atZone(cfg.zone()));
                    if (next.isPresent() && !next.get().toInstant().isAfter(now)) {
                        daemon.firePolicy(p, "schedule \"" + s + "\"", null);
                        break;
                    }
                }
            }
        }
        daemon.enforceWindows();
        long t = System.nanoTime();
        if (lastPollNanos == Long.MIN_VALUE || t - lastPollNanos >= options.snapshotPollMillis() * 1_000_000L) {
            lastPollNanos = t;
            pollSnapshots(cfg);
        }
    }

    /**
     * The missed-run rule, applied once at start: a policy whose most recent scheduled time (before
     * now) is later than the start of its most recent backup in the catalog gets one catch-up run, however
     * many times it missed. A policy that never ran has nothing to catch up.
     */
    void catchUp(Map<String, Instant> lastRunByPolicy) {
        AgentConfig cfg = daemon.config();
        Instant now = clock.instant();
        for (AgentConfig.Policy p : cfg.policies()) {
            Instant lastRun = lastRunByPolicy.get(p.name());
            if (lastRun == null) {
                continue;
            }
            Instant due = null;
            for (String s : p.schedules()) {
                Optional<ZonedDateTime> last = execution(s).lastExecution(now.atZone(cfg.zone()));
                if (last.isPresent() && (due == null || last.get().toInstant().isAfter(due))) {
                    due = last.get().toInstant();
                }
            }
            if (due != null && due.isAfter(lastRun)) {
                log.info("missed run policy={} due={} lastRun={} action=catch-up", p.name(), due, lastRun);
                daemon.firePolicy(p, "catch-up (missed " + due + ")", null);
            }
        }
    }

    private ExecutionTime execution(String expr) {
        return cron.computeIfAbsent(expr, e -> ExecutionTime.forCron(CRON.parse(e)));
    }

    private void pollSnapshots(AgentConfig cfg) {
        for (AgentConfig.Datastore ds : cfg.datastores()) {
            if (ds.snapshotTemplate().isEmpty()) {
                continue;
            }
            List<AgentConfig.Policy> watching = cfg.policies().stream()
                    .filter(p -> p.onNewSnapshot() && p.datastores().contains(ds.name())).toList();
            if (watching.isEmpty()) {
                continue;
            }
            Path parent = snapshotParent(ds);
            List<Path> present = new ArrayList<>();
            if (Files.isDirectory(parent)) {
                try (DirectoryStream<Path> dir = Files.newDirectoryStream(parent)) {
                    for (Path p : dir) {
                        if (present.size() >= MAX_SNAPSHOTS) {
                            log.warn("snapshot listing truncated datastore={} dir={} limit={}", ds.name(), parent, MAX_SNAPSHOTS);
                            break;
                        }
                        if (!p.getFileName().toString().startsWith(".") && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                            present.add(p);
                        }
                    }
                } catch (IOException e) {
                    log.warn("snapshot directory unreadable datastore={} dir={} error=\"{}\"", ds.name(), parent, e.getMessage());
                    continue;
                }
            }
            Set<String> names = new LinkedHashSet<>();
            present.forEach(p -> names.add(p.getFileName().toString()));
            Set<String> seen = state.seen(ds.name());
            try {
                if (seen == null) {
                    log.info("snapshot baseline datastore={} dir={} existing={}", ds.name(), parent, names.size());
                    state.seen(ds.name(), names);
                    continue;
                }
                List<Path> fresh = present.stream().filter(p -> !seen.contains(p.getFileName().toString()))
                        .sorted(Comparator.comparing(Triggers::mtime).thenComparing(Path::toString)).toList();
                if (!names.equals(seen)) {
                    state.seen(ds.name(), names);
                }
                if (fresh.isEmpty()) {
                    continue;
                }
                String newest = fresh.get(fresh.size() - 1).getFileName().toString();
                if (fresh.size() > 1) {
                    log.info("several new snapshots datastore={} count={} backing-up={}", ds.name(), fresh.size(), newest);
                }
                for (AgentConfig.Policy p : watching) {
                    daemon.firePolicyOn(p, ds, "snapshot " + newest, newest);
                }
            } catch (IOException e) {
                log.error("agent state file not writable error=\"{}\"", e.getMessage());
            }
        }
    }

    /** The directory whose entries are the snapshots: the template up to {@code {snapshot}}. */
    static Path snapshotParent(AgentConfig.Datastore ds) {
        String t = ds.snapshotTemplate().orElseThrow();
        String head = t.substring(0, t.indexOf("{snapshot}"))
                .replace("{datastore}", ds.path().toAbsolutePath().normalize().toString());
        return Path.of(head.isEmpty() ? "." : head).toAbsolutePath().normalize();
    }

    private static FileTime mtime(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }
}
