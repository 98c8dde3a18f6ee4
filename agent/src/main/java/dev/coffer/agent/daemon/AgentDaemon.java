package dev.coffer.agent.daemon;

import dev.coffer.agent.api.ApiServer;
import dev.coffer.agent.backup.BackupJob;
import dev.coffer.agent.backup.BackupOptions;
import dev.coffer.agent.backup.Destinations;
import dev.coffer.agent.backup.RateCap;
import dev.coffer.agent.backup.ReadThrottle;
import dev.coffer.agent.cli.BackupRef;
import dev.coffer.agent.config.AgentConfig;
import dev.coffer.agent.config.ConfigException;
import dev.coffer.agent.config.ConfigLoader;
import dev.coffer.agent.discovery.Discovery;
import dev.coffer.agent.discovery.DiscoveryException;
import dev.coffer.agent.discovery.VirtualMachine;
import dev.coffer.agent.flr.FileRestore;
import dev.coffer.agent.flr.Selection;
import dev.coffer.agent.load.DatastoresProbe;
import dev.coffer.agent.load.IoGovernor;
import dev.coffer.agent.load.IoGovernorOptions;
import dev.coffer.agent.load.IoScheduler;
import dev.coffer.agent.load.MonotonicClock;
import dev.coffer.agent.pit.LiveSource;
import dev.coffer.agent.pit.PointInTime;
import dev.coffer.agent.pit.ReflinkCloneSource;
import dev.coffer.agent.pit.StorageSnapshotSource;
import dev.coffer.agent.pit.VmSnapshotSource;
import dev.coffer.agent.cli.VerifyCommand;
import dev.coffer.agent.flr.RestoreCommand;
import dev.coffer.agent.rebuild.DiskExport;
import dev.coffer.agent.rebuild.DiskLayout;
import dev.coffer.agent.rebuild.DiskRebuilder;
import dev.coffer.agent.rebuild.SparseVmdkExport;
import dev.coffer.agent.restore.DirectoryTarget;
import dev.coffer.agent.restore.ExistingPolicy;
import dev.coffer.agent.restore.HttpTargetClient;
import dev.coffer.agent.restore.RestoreTarget;
import dev.coffer.catalog.BackupInfo;
import dev.coffer.catalog.BackupState;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.DiskInfo;
import dev.coffer.catalog.VmInfo;
import dev.coffer.dedup.Destination;
import dev.coffer.dedup.LocalDestination;
import dev.coffer.vmdk.VirtualDisk;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The long-running agent: owns the config, the catalog (and the lock that keeps other daemons off
 * it), the destination, the job queue, the triggers and the query server.
 *
 * <p>Lifecycle: {@link #start()} loads the config, takes the lock, opens the catalog, recovers
 * (backups a crash left running are marked failed, and the jobs the state file still holds are
 * queued again unless their backup completed), starts the load governor, the job dispatcher, the
 * triggers (with the missed-run rule) and the query server, in that order; {@link #stop()} undoes
 * them in reverse, cancelling running jobs, which the next start runs again. Every rule is written
 * down in {@code docs/operations.md}, "The daemon".
 */
public final class AgentDaemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AgentDaemon.class);
    /** Finished jobs the API remembers: the last 1000 (a day of hourly backups of 40 VMs). */
    static final int MAX_FINISHED = 1000;
    /**
     * Restores running at once, beside the backups (which {@code limits.concurrent_jobs} bounds): a user
     * waiting for a file should not wait for a night's backups; each restore's pipeline has its own
     * bounded workers, so 2 keep the controller's load bounded too.
     */
    static final int MAX_RESTORES = 2;

    private final Path configFile;
    private final DaemonOptions options;
    private final Clock clock;
    private final Instant bootedAt;
    private volatile AgentConfig config;
    private DaemonLock lock;
    private Catalog catalog;
    private StateStore state;
    private Triggers triggers;
    private ApiServer api;
    private IoGovernor governor;
    private volatile DatastoresProbe probe;
    private IoScheduler ioScheduler;
    private Thread dispatcher;
    private volatile boolean running;
    private final Object stopLock = new Object();
    private boolean stopped;

    private final Object destLock = new Object();
    /** Guarded by destLock. */
    private Destination destination;
    /** Guarded by destLock. */
    private String destinationError;

    private final Object queueLock = new Object();
    /** Every job, queued, running and the last finished ones, in submission order. Guarded by queueLock. */
    private final LinkedHashMap<String, Job> jobs = new LinkedHashMap<>();
    /** VM folders with a running backup. Guarded by queueLock. */
    private final Set<Path> busyVms = new HashSet<>();
    /** Guarded by queueLock. */
    private int runningCount;
    /** Running backups (limited by limits.concurrent_jobs). Guarded by queueLock. */
    private int runningBackups;
    /** Running restores. Guarded by queueLock. */
    private int runningRestores;
    private final AtomicLong restoreSeq = new AtomicLong();

    /** Totals since start, for /metrics. */
    public final Totals totals = new Totals();

    /** Counters since the daemon started (Prometheus counters). */
    public static final class Totals {
        public final AtomicLong bytesRead = new AtomicLong();
        public final AtomicLong bytesCarried = new AtomicLong();
        public final AtomicLong bytesNew = new AtomicLong();
        public final AtomicLong bytesSent = new AtomicLong();
        public final AtomicLong backupsComplete = new AtomicLong();
        public final AtomicLong backupsPartial = new AtomicLong();
        public final AtomicLong backupsFailed = new AtomicLong();
        public final AtomicLong backupsPruned = new AtomicLong();
        public final AtomicLong destinationRetries = new AtomicLong();
        public final AtomicLong restoresDone = new AtomicLong();
        public final AtomicLong reloads = new AtomicLong();
        public final AtomicLong reloadsRejected = new AtomicLong();
    }

    /**
     * @param configFile the YAML config
     * @param options timing and size knobs
     * @param clock the clock of schedules, windows, retries and catalog times
     */
    public AgentDaemon(Path configFile, DaemonOptions options, Clock clock) {
        this.configFile = configFile.toAbsolutePath().normalize();
        this.options = options;
        this.clock = clock;
        this.bootedAt = clock.instant();
    }

    /** Starts every component; on failure stops what started and rethrows. */
    public void start() throws IOException {
        try {
            config = ConfigLoader.load(configFile);
            Path cat = config.catalog();
            if (cat.getParent() != null) {
                Files.createDirectories(cat.getParent());
            }
            lock = DaemonLock.acquire(cat);
            dev.coffer.agent.SqliteNative.loadForStorage();
            catalog = Catalog.open(cat);
            state = new StateStore(StateStore.fileFor(cat));
            state.load();
            Map<String, Instant> lastRuns = recover();
            startGovernor();
            openDestination();
            running = true;
            dispatcher = new Thread(this::dispatch, "coffer-dispatcher");
            dispatcher.setDaemon(true);
            dispatcher.start();
            triggers = new Triggers(this, clock, options, state);
            triggers.catchUp(lastRuns);
            triggers.start();
            api = new ApiServer(this, options);
            api.start();
            log.info("agent started config={} catalog={} datastores={} policies={} socket={} tcp={}", configFile, cat,
                    config.datastores().size(), config.policies().size(), config.query().socket(),
                    config.query().listen().orElse("none"));
        } catch (IOException | RuntimeException e) {
            stop();
            throw e;
        }
    }

    /**
     * Recovery: marks backups a crash left running as failed, then queues again every job of the state
     * file whose backup did not complete (a complete backup of the same VM by the same policy started
     * at or after the job was queued means it did). Returns the start of each policy's latest backup,
     * for the missed-run rule.
     */
    private Map<String, Instant> recover() throws IOException {
        int failed = catalog.failInterrupted(clock.instant(), "interrupted: the agent stopped during this backup");
        if (failed > 0) {
            log.warn("recovered interrupted backups count={} state=failed action=re-run", failed);
        }
        Map<String, Instant> lastRun = new HashMap<>();
        List<BackupInfo> all = catalog.backups();
        Map<Long, VmInfo> vms = new HashMap<>();
        for (VmInfo v : catalog.vms()) {
            vms.put(v.id(), v);
        }
        for (BackupInfo b : all) {
            if (b.policy() != null) {
                lastRun.merge(b.policy(), b.started(), (x, y) -> x.isAfter(y) ? x : y);
            }
        }
        for (StateStore.Pending p : state.pending()) {
            boolean done = false;
            for (BackupInfo b : all) {
                VmInfo v = vms.get(b.vmId());
                if (v != null && b.state() == BackupState.COMPLETE && p.spec().policy().equals(b.policy())
                        && !b.started().isBefore(p.queuedAt())
                        && Path.of(v.datastorePath()).resolve(v.folder()).normalize().equals(p.spec().vmFolder())) {
                    done = true;
                    break;
                }
            }
            if (done) {
                log.info("recovered job already complete job=j-{} vm={} policy={}", p.seq(), p.spec().vmFolder(),
                        p.spec().policy());
                state.remove(p.seq());
                continue;
            }
            Job j = new Job("j-" + p.seq(), p.seq(), p.spec(), p.queuedAt());
            synchronized (queueLock) {
                jobs.put(j.id(), j);
            }
            log.info("job requeued job={} vm={} policy={} trigger=\"{}\" reason=recovery", j.id(),
                    p.spec().vmFolder().getFileName(), p.spec().policy(), p.spec().trigger());
        }
        return lastRun;
    }

    /**
     * Starts the one load governor over the devices under every configured datastore (their union:
     * the datastores share the controller's disks and one read budget). Without any block device
     * (tmpfs, NFS) it follows PSI only; when even that cannot start, backups run without load feedback.
     */
    private void startGovernor() {
        if (config.datastores().isEmpty()) {
            return;
        }
        try {
            MonotonicClock mc = MonotonicClock.system();
            probe = DatastoresProbe.system(mc);
            logWatch(probe.watch(datastorePaths(config)));
            governor = new IoGovernor(IoGovernorOptions.defaults(), probe, mc);
            governor.setCapBytesPerSecond(config.limits().maxReadBytesPerSecond());
            governor.start();
            ioScheduler = new IoScheduler(governor);
        } catch (IOException | RuntimeException | LinkageError e) {
            log.warn("load governor unavailable error=\"{}\" (backups run without load feedback)", e.toString());
            governor = null;
            probe = null;
        }
    }

    private static List<Path> datastorePaths(AgentConfig cfg) {
        return cfg.datastores().stream().map(AgentConfig.Datastore::path).toList();
    }

    private static void logWatch(DatastoresProbe.Watch w) {
        log.info("load governor watches devices={} datastores={}{}", w.devices().stream().map(d -> d.name()).toList(),
                w.sets().size(), w.psiOnly() ? " mode=psi-only" : "");
        for (String f : w.failures()) {
            log.warn("load governor cannot watch datastore error=\"{}\" (its devices are not watched)", f);
        }
    }

    /** What the load governor watches now, or null without one. */
    public DatastoresProbe.Watch governorWatch() {
        DatastoresProbe p = probe;
        return p == null ? null : p.watching();
    }

    /** Stops every component in reverse order; running jobs are cancelled and run again at the next start. */
    public void stop() {
        synchronized (stopLock) {
            if (stopped) {
                return;
            }
            stopped = true;
        }
        log.info("agent stopping");
        running = false;
        if (api != null) {
            api.stop();
        }
        try {
            if (triggers != null) {
                triggers.stop();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (queueLock) {
            for (Job j : jobs.values()) {
                if (j.state() == Job.State.RUNNING) {
                    j.cancelReason = "shutdown";
                    j.cancel.set(true);
                }
            }
            queueLock.notifyAll();
            long deadline = System.nanoTime() + options.shutdownWaitMillis() * 1_000_000L;
            while (runningCount > 0 && System.nanoTime() < deadline) {
                try {
                    queueLock.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            if (runningCount > 0) {
                log.warn("jobs still running at shutdown count={}", runningCount);
            }
        }
        if (dispatcher != null) {
            dispatcher.interrupt();
        }
        if (governor != null) {
            governor.close();
        }
        synchronized (destLock) {
            if (destination != null) {
                try {
                    destination.close();
                } catch (Exception e) {
                    log.warn("destination close failed error=\"{}\"", e.getMessage());
                }
                destination = null;
            }
        }
        if (catalog != null) {
            try {
                catalog.close();
            } catch (IOException e) {
                log.warn("catalog close failed error=\"{}\"", e.getMessage());
            }
        }
        if (lock != null) {
            try {
                lock.close();
            } catch (IOException e) {
                log.warn("lock release failed error=\"{}\"", e.getMessage());
            }
        }
        log.info("agent stopped");
        synchronized (stopLock) {
            stopLock.notifyAll();
        }
    }

    /** Blocks until {@link #stop()} has finished. */
    public void awaitStop() throws InterruptedException {
        synchronized (stopLock) {
            while (!stopped || running) {
                stopLock.wait(1000);
            }
        }
    }

    @Override
    public void close() {
        stop();
    }

    /** The config in effect. */
    public AgentConfig config() {
        return config;
    }

    /** The catalog (open while the daemon runs). */
    public Catalog catalog() {
        return catalog;
    }

    /** The clock of the daemon. */
    public Clock clock() {
        return clock;
    }

    /** When the daemon was made. */
    public Instant bootedAt() {
        return bootedAt;
    }

    /** The load governor, or null when the controller's devices could not be resolved. */
    public IoGovernor governor() {
        return governor;
    }

    /** The I/O scheduler jobs register with, or null without a governor. */
    public IoScheduler ioScheduler() {
        return ioScheduler;
    }

    /** The query server, or null before it started. */
    public ApiServer api() {
        return api;
    }

    /** Whether the daemon is running. */
    public boolean running() {
        return running;
    }

    /**
     * Re-reads the config file. A bad file throws {@link ConfigException} (file:line: key: message) and
     * the running config stays. Catalog, destination and query endpoints are fixed for the daemon's life:
     * a change to them is refused (restart the daemon for those).
     */
    public AgentConfig reload() throws IOException {
        AgentConfig next;
        try {
            next = ConfigLoader.load(configFile);
            AgentConfig cur = config;
            if (!next.catalog().equals(cur.catalog())) {
                throw new ConfigException(configFile, 0, "catalog", "changing the catalog needs a restart");
            }
            if (!next.destination().equals(cur.destination())) {
                throw new ConfigException(configFile, 0, "destination", "changing the destination needs a restart");
            }
            if (!next.query().equals(cur.query())) {
                throw new ConfigException(configFile, 0, "query", "changing the query endpoints needs a restart");
            }
        } catch (IOException e) {
            totals.reloadsRejected.incrementAndGet();
            log.error("reload rejected config={} error=\"{}\" (the previous config stays in effect)", configFile,
                    e.getMessage());
            throw e;
        }
        config = next;
        if (governor != null) {
            governor.setCapBytesPerSecond(next.limits().maxReadBytesPerSecond());
            // resolved again even when the paths did not change: a datastore may have been remounted
            try {
                logWatch(probe.watch(datastorePaths(next)));
            } catch (IOException e) {
                log.warn("load governor keeps its devices error=\"{}\"", e.getMessage());
            }
        }
        totals.reloads.incrementAndGet();
        log.info("reloaded config={} datastores={} policies={}", configFile, next.datastores().size(),
                next.policies().size());
        synchronized (queueLock) {
            queueLock.notifyAll();
        }
        return next;
    }

    // ---------------------------------------------------------------- destination

    private void openDestination() {
        synchronized (destLock) {
            if (destination != null) {
                return;
            }
            try {
                destination = Destinations.open(config.destination());
                destinationError = null;
            } catch (IOException | RuntimeException e) {
                destinationError = String.valueOf(e.getMessage());
                log.warn("destination unavailable destination={} error=\"{}\"", Destinations.name(config.destination()),
                        destinationError);
            }
        }
    }

    /** The destination, connecting when it is not; throws when it cannot be reached. */
    public Destination destination() throws IOException {
        synchronized (destLock) {
            openDestination();
            if (destination == null) {
                throw new IOException("destination " + Destinations.name(config.destination()) + " unavailable: "
                        + destinationError);
            }
            return destination;
        }
    }

    private void destinationFailed(String why) {
        synchronized (destLock) {
            destinationError = why;
            if (destination != null && !(destination instanceof LocalDestination)) {
                try {
                    destination.close();
                } catch (Exception ignored) {
                    // it is already broken
                }
                destination = null;
            }
        }
    }

    /** The destination's name and whether it is reachable, for health and metrics. */
    public Map<String, Object> destinationStatus() {
        synchronized (destLock) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", Destinations.name(config.destination()));
            m.put("connected", destination != null);
            m.put("error", destinationError);
            return m;
        }
    }

    // ---------------------------------------------------------------- jobs

    /** Every job the daemon knows (queued, running, and the last finished), oldest first. */
    public List<Job> jobs() {
        synchronized (queueLock) {
            return new ArrayList<>(jobs.values());
        }
    }

    /** One job by id. */
    public Optional<Job> job(String id) {
        synchronized (queueLock) {
            return Optional.ofNullable(jobs.get(id));
        }
    }

    /** Queues a backup of every VM {@code p} selects (a trigger fired); snapshot null = the policy's rule. */
    void firePolicy(AgentConfig.Policy p, String trigger, String snapshot) {
        if (!running) {
            return;
        }
        for (PolicyVms.Selected s : PolicyVms.select(config, p)) {
            submitQuietly(p, s.datastore(), s.vm().folder(), trigger, snapshot);
        }
    }

    /** Queues a backup of the VMs {@code p} selects on one datastore (a snapshot of it appeared). */
    void firePolicyOn(AgentConfig.Policy p, AgentConfig.Datastore ds, String trigger, String snapshot) {
        if (!running) {
            return;
        }
        for (PolicyVms.Selected s : PolicyVms.select(config, p)) {
            if (s.datastore().name().equals(ds.name())) {
                submitQuietly(p, s.datastore(), s.vm().folder(), trigger, snapshot);
            }
        }
    }

    private void submitQuietly(AgentConfig.Policy p, AgentConfig.Datastore ds, Path folder, String trigger, String snapshot) {
        try {
            submit(new Job.Spec(Job.Kind.BACKUP, p.name(), ds.name(), folder.toAbsolutePath().normalize(), trigger,
                    snapshot, p.priority(), null, null, null, false));
        } catch (IOException e) {
            log.error("job not queued policy={} vm={} error=\"{}\"", p.name(), folder.getFileName(), e.getMessage());
        }
    }

    /**
     * Queues a backup job. A backup of the same VM for the same policy that is still queued (not
     * running) absorbs the new one: the queued job is returned, so a burst of triggers makes one backup.
     */
    Job submit(Job.Spec spec) throws IOException {
        synchronized (queueLock) {
            for (Job j : jobs.values()) {
                if (j.spec().kind() == Job.Kind.BACKUP && !j.state().terminal() && j.state() != Job.State.RUNNING
                        && j.spec().vmFolder().equals(spec.vmFolder()) && j.spec().policy().equals(spec.policy())
                        && Objects.equals(j.spec().snapshot(), spec.snapshot())
                        && Objects.equals(j.spec().source(), spec.source())) {
                    return j;
                }
            }
        }
        long seq = state.nextSeq();
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        Job j = new Job("j-" + seq, seq, spec, now);
        state.add(new StateStore.Pending(seq, spec, now));
        synchronized (queueLock) {
            jobs.put(j.id(), j);
            trimLocked();
            queueLock.notifyAll();
        }
        log.info("job queued job={} vm={} policy={} trigger=\"{}\" priority={}", j.id(), spec.vmFolder().getFileName(),
                spec.policy(), spec.trigger(), spec.priority());
        return j;
    }

    /**
     * A backup asked for on the socket: {@code vm} (folder name or display name) on {@code datastore}
     * (any when null), for {@code policy} (its source and retention; null = an unscheduled backup named
     * {@code api} read from the frozen parents of an active VM snapshot, else live). With a policy and no
     * VM, every VM the policy selects.
     */
    public List<Job> requestBackup(String datastore, String vm, String policy) throws IOException {
        return requestBackup(datastore, vm, policy, null, null, false);
    }

    /** Point-in-time sources a backup may ask for on the socket (as {@code coffer backup --source}). */
    static final List<String> SOURCES = List.of("auto", "live", "vm-snapshot", "reflink", "storage-snapshot");

    /**
     * As {@link #requestBackup(String, String, String)}, reading from {@code source} (one of
     * {@link #SOURCES}; null = the policy's, or auto without one) and, for {@code storage-snapshot},
     * storage snapshot {@code snapshot} (null = the datastore's newest); with {@code reread}, every
     * file is read again ({@code coffer backup --full}, {@link dev.coffer.agent.backup.BackupOptions#reread}).
     */
    public List<Job> requestBackup(String datastore, String vm, String policy, String source, String snapshot,
            boolean reread) throws IOException {
        if (source != null && !SOURCES.contains(source)) {
            throw new IllegalArgumentException("source: expected one of " + String.join(", ", SOURCES) + ", found \""
                    + source + "\"");
        }
        if (snapshot != null && !"storage-snapshot".equals(source)) {
            throw new IllegalArgumentException("snapshot: only with source storage-snapshot");
        }
        if (snapshot != null && (snapshot.isEmpty() || snapshot.contains("/") || snapshot.startsWith("."))) {
            throw new IllegalArgumentException("snapshot: a snapshot name, found \"" + snapshot + "\"");
        }
        AgentConfig cfg = config;
        AgentConfig.Policy p = null;
        if (policy != null) {
            p = cfg.policies().stream().filter(x -> x.name().equals(policy)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no policy named \"" + policy + "\""));
        }
        if (datastore != null && cfg.datastores().stream().noneMatch(d -> d.name().equals(datastore))) {
            throw new IllegalArgumentException("no datastore named \"" + datastore + "\"");
        }
        List<Job> out = new ArrayList<>();
        if (vm == null) {
            if (p == null) {
                throw new IllegalArgumentException("give \"vm\", \"policy\" or both");
            }
            for (PolicyVms.Selected s : PolicyVms.select(cfg, p)) {
                if (datastore == null || s.datastore().name().equals(datastore)) {
                    out.add(submit(new Job.Spec(Job.Kind.BACKUP, p.name(), s.datastore().name(), s.vm().folder(),
                            "api", snapshot, p.priority(), null, null, source, reread)));
                }
            }
            return out;
        }
        for (AgentConfig.Datastore ds : cfg.datastores()) {
            if (datastore != null && !ds.name().equals(datastore)) {
                continue;
            }
            if (p != null && !p.datastores().contains(ds.name())) {
                continue;
            }
            List<VirtualMachine> found = Discovery.scan(ds.path(), (f, e) -> { });
            // a folder name is unique on a datastore, a display name need not be: folders win
            List<VirtualMachine> ordered = new ArrayList<>(found.stream()
                    .filter(v -> v.folder().getFileName().toString().equals(vm)).toList());
            ordered.addAll(found.stream().filter(v -> v.displayName().equals(vm)).toList());
            if (!ordered.isEmpty()) {
                VirtualMachine v = ordered.get(0);
                out.add(submit(new Job.Spec(Job.Kind.BACKUP, p == null ? "api" : p.name(), ds.name(),
                        v.folder().toAbsolutePath().normalize(), "api", snapshot, p == null ? 50 : p.priority(), null, null,
                        source, reread)));
                return out;
            }
        }
        throw new IllegalArgumentException("no VM \"" + vm + "\" on " + (datastore == null ? "any datastore" : datastore)
                + (p == null ? "" : " of policy " + p.name()));
    }

    /**
     * A file restore asked for on the socket: {@code spec} ({@code [VM@]ID|latest[:/PATH]}) into the
     * directory {@code to}, which must be absolute; existing files are kept and the restored one renamed.
     */
    public Job requestRestore(String spec, String vm, String volume, Path to) throws IOException {
        return requestRestore(new RestoreRequest(spec, vm, volume, false, null, ExistingPolicy.RENAME, 0, to.toString(),
                null, null, null, false, false));
    }

    /**
     * A restore asked for on the socket ({@link RestoreRequest}): checked now (the backup, path, volume
     * and disk must exist, the target must be absolute or a URL with a token), run beside the backups.
     * Restores run at priority 90 (a user waits for them) and are not kept across restarts.
     */
    public Job requestRestore(RestoreRequest req) throws IOException {
        if (req.spec() == null || req.to() == null) {
            throw new IllegalArgumentException("\"backup\" and \"to\" are required");
        }
        if (req.workers() < 0 || req.workers() > RestoreRequest.MAX_WORKERS) {
            throw new IllegalArgumentException("workers: expected 1.." + RestoreRequest.MAX_WORKERS + ", found "
                    + req.workers());
        }
        if (req.remoteTarget()) {
            if (req.disk() != null || req.vmFiles()) {
                throw new IllegalArgumentException("\"to\": a disk image or the VM's files go to a path on the controller,"
                        + " not to a restore-target URL");
            }
            if (req.targetToken() == null || req.targetToken().isBlank()) {
                throw new IllegalArgumentException("\"to\" " + req.to() + " needs \"targetToken\" (the restore target"
                        + " authenticates)");
            }
            try {
                java.net.URI u = java.net.URI.create(req.to());
                if (u.getHost() == null) {
                    throw new IllegalArgumentException("\"to\": no host in " + req.to());
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("\"to\": not a URL: " + e.getMessage());
            }
        } else {
            Path to;
            try {
                to = Path.of(req.to());
            } catch (java.nio.file.InvalidPathException e) {
                throw new IllegalArgumentException("\"to\": " + e.getMessage());
            }
            if (!to.isAbsolute()) {
                throw new IllegalArgumentException("\"to\" must be an absolute path on the controller or an http(s) URL");
            }
            if (req.targetToken() != null) {
                throw new IllegalArgumentException("\"targetToken\" is only for a restore-target URL");
            }
        }
        String noDirectIo = RestoreCommand.directIoRefusedFor(req.remoteTarget(), req.disk() != null, req.vmFiles());
        if (req.directIo() && noDirectIo != null) {
            throw new IllegalArgumentException("\"directIo\" is for files restored into a directory, not " + noDirectIo);
        }
        if (req.disk() != null || req.vmFiles()) {
            BackupInfo b = BackupRef.named(catalog, req.spec(), req.vm()); // fails now, naming what is wrong
            if (req.disk() != null) {
                disk(b, req.disk());
            }
        } else {
            BackupRef ref = BackupRef.resolve(catalog, req.spec(), req.vm(), req.volume());
            // the path must exist (its stream is checked when the job selects it)
            String path = ref.path();
            int colon = path.lastIndexOf(':');
            if (colon > 0 && path.indexOf('/', colon) < 0) {
                path = path.substring(0, colon);
            }
            if (catalog.stat(ref.backup().id(), ref.volume().id(), path).isEmpty()) {
                // worded as the restore's own selection words it (coffer restore prints the same)
                throw new IOException("no " + ref.path() + " in backup " + ref.backup().id());
            }
        }
        long seq = restoreSeq.incrementAndGet();
        Job j = new Job("r-" + seq, -seq, new Job.Spec(Job.Kind.RESTORE, null, null, null, "api", null, 90,
                req.display(), req.to(), null, false), clock.instant(), req);
        synchronized (queueLock) {
            jobs.put(j.id(), j);
            trimLocked();
            queueLock.notifyAll();
        }
        log.info("job queued job={} restore=\"{}\" to={}", j.id(), req.display(), req.to());
        return j;
    }

    /**
     * A verify asked for on the socket: re-reads and re-hashes everything the catalog's backups
     * reference at the destination (an embedded store verifies its packs in place) and names the
     * backups and files any damage touches. Runs beside the backups like a restore; not kept across restarts.
     */
    public Job requestVerify() {
        long seq = restoreSeq.incrementAndGet();
        Job j = new Job("v-" + seq, -seq, new Job.Spec(Job.Kind.VERIFY, null, null, null, "api", null, 10, null, null,
                null, false), clock.instant());
        synchronized (queueLock) {
            jobs.put(j.id(), j);
            trimLocked();
            queueLock.notifyAll();
        }
        log.info("job queued job={} verify", j.id());
        return j;
    }

    private void runVerify(Job job) {
        try {
            Destination dest = destination();
            log.info("job start job={} verify destination={}", job.id(), Destinations.name(config.destination()));
            long t0 = System.nanoTime();
            Map<String, Object> res = new LinkedHashMap<>(VerifyCommand.verify(catalog, dest));
            int damaged = ((Number) res.get("damagedBlocks")).intValue();
            Job.State end = damaged == 0 ? Job.State.COMPLETE : Job.State.FAILED;
            job.ended(end, clock.instant(), damaged == 0 ? null : damaged + " damaged blocks", 0, res);
            if (damaged == 0) {
                log.info("job end job={} verify state=complete blocks={} seconds={}", job.id(), res.get("blocksChecked"),
                        (System.nanoTime() - t0) / 1_000_000 / 1000.0);
            } else {
                log.error("job end job={} verify state=failed blocks={} damaged={}", job.id(), res.get("blocksChecked"),
                        damaged);
            }
        } catch (IOException | RuntimeException e) {
            job.ended(Job.State.FAILED, clock.instant(), String.valueOf(e.getMessage()), 0, Map.of());
            log.error("job end job={} verify state=failed error=\"{}\"", job.id(), e.getMessage());
        } catch (InterruptedException e) {
            job.ended(Job.State.CANCELLED, clock.instant(), "the agent stopped", 0, Map.of());
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The disk of backup {@code b} named by its slot ({@code scsi0:0}) or by its index in the order
     * {@code GET /v1/backups/{id}} lists them; an error naming the disks it has otherwise.
     */
    public DiskInfo disk(BackupInfo b, String name) throws IOException {
        return BackupRef.disk(catalog, b, name);
    }

    private void trimLocked() {
        int finished = 0;
        for (Job j : jobs.values()) {
            if (j.state().terminal()) {
                finished++;
            }
        }
        var it = jobs.values().iterator();
        while (finished > MAX_FINISHED && it.hasNext()) {
            if (it.next().state().terminal()) {
                it.remove();
                finished--;
            }
        }
    }

    /** The dispatcher: starts the best eligible job whenever a slot, a VM or a window frees up. */
    private void dispatch() {
        while (running) {
            Job next = null;
            synchronized (queueLock) {
                if (!running) {
                    return; // stop() set this before scanning for jobs to cancel under this lock
                }
                try {
                    next = pickLocked();
                    if (next == null) {
                        queueLock.wait(Math.max(20, Math.min(options.tickMillis(), 250)));
                        continue;
                    }
                    runningCount++;
                    if (next.spec().kind() == Job.Kind.BACKUP) {
                        runningBackups++;
                        busyVms.add(next.spec().vmFolder());
                    } else {
                        runningRestores++;
                    }
                    next.started(clock.instant());
                } catch (InterruptedException e) {
                    return;
                }
            }
            Job job = next;
            Thread t = new Thread(() -> runJob(job), "coffer-job-" + job.id());
            t.setDaemon(true);
            t.start();
        }
    }

    private Job pickLocked() {
        AgentConfig cfg = config;
        boolean backupSlot = runningBackups < cfg.limits().concurrentJobs();
        boolean restoreSlot = runningRestores < MAX_RESTORES;
        if (!backupSlot && !restoreSlot) {
            return null;
        }
        Instant now = clock.instant();
        LocalTime local = now.atZone(cfg.zone()).toLocalTime();
        List<Job> waiting = new ArrayList<>();
        for (Job j : jobs.values()) {
            Job.State s = j.state();
            if (s == Job.State.QUEUED || s == Job.State.WAITING_FOR_WINDOW || s == Job.State.WAITING_FOR_DESTINATION) {
                waiting.add(j);
            }
        }
        waiting.sort(Comparator.comparingInt((Job j) -> -j.spec().priority()).thenComparingLong(j -> j.seq));
        for (Job j : waiting) {
            Instant nb = j.notBefore();
            if (nb != null && nb.isAfter(now)) {
                continue;
            }
            // restores and verifies share the slots beside the backups
            if (j.spec().kind() != Job.Kind.BACKUP && !restoreSlot || j.spec().kind() == Job.Kind.BACKUP && !backupSlot) {
                continue;
            }
            if (j.spec().kind() == Job.Kind.BACKUP) {
                Optional<AgentConfig.Window> w = policy(cfg, j.spec().policy()).flatMap(AgentConfig.Policy::window);
                if (w.isPresent() && !w.get().contains(local)) {
                    if (j.state() != Job.State.WAITING_FOR_WINDOW) {
                        j.waitUntil(Job.State.WAITING_FOR_WINDOW, null, "outside the policy's window "
                                + w.get().start() + "-" + w.get().end());
                    }
                    continue;
                }
                if (busyVms.contains(j.spec().vmFolder())) {
                    continue;
                }
            }
            return j;
        }
        return null;
    }

    private static Optional<AgentConfig.Policy> policy(AgentConfig cfg, String name) {
        return cfg.policies().stream().filter(p -> p.name().equals(name)).findFirst();
    }

    private void runJob(Job job) {
        try {
            switch (job.spec().kind()) {
                case BACKUP -> runBackup(job);
                case RESTORE -> runRestore(job);
                case VERIFY -> runVerify(job);
            }
        } catch (RuntimeException | Error e) {
            log.error("job crashed job={} error=\"{}\"", job.id(), e.toString(), e);
            job.ended(Job.State.FAILED, clock.instant(), e.toString(), job.backupId(), Map.of());
        } finally {
            synchronized (queueLock) {
                runningCount--;
                if (job.spec().kind() == Job.Kind.BACKUP) {
                    runningBackups--;
                    busyVms.remove(job.spec().vmFolder());
                } else {
                    runningRestores--;
                }
                trimLocked();
                queueLock.notifyAll();
            }
        }
    }

    private void runBackup(Job job) {
        AgentConfig cfg = config;
        Job.Spec spec = job.spec();
        AgentConfig.Policy p = policy(cfg, spec.policy()).orElse(null);
        AgentConfig.Datastore ds = cfg.datastores().stream().filter(d -> d.name().equals(spec.datastore()))
                .findFirst().orElse(null);
        if (ds == null || (p == null && !spec.policy().equals("api"))) {
            finish(job, Job.State.FAILED, ds == null ? "datastore " + spec.datastore() + " is no longer configured"
                    : "policy " + spec.policy() + " is no longer configured", 0, Map.of());
            return;
        }
        long cap = p == null ? cfg.limits().maxReadBytesPerSecond() : p.bandwidthBytesPerSecond();
        if (cfg.limits().maxReadBytesPerSecond() > 0 && (cap == 0 || cap > cfg.limits().maxReadBytesPerSecond())) {
            cap = cfg.limits().maxReadBytesPerSecond();
        }
        job.describe(spec.vmFolder().getFileName().toString(), cap);
        Destination dest;
        try {
            dest = destination();
        } catch (IOException e) {
            waitForDestination(job, e.getMessage());
            return;
        }
        VirtualMachine vm;
        try {
            Path vmx = Discovery.findVmx(spec.vmFolder());
            if (vmx == null) {
                throw new DiscoveryException(spec.vmFolder() + ": no .vmx (the VM was removed)");
            }
            vm = Discovery.load(ds.path(), vmx);
            job.describe(vm.displayName(), cap);
        } catch (IOException e) {
            finish(job, Job.State.FAILED, e.getMessage(), 0, Map.of());
            return;
        }
        String destName = Destinations.name(cfg.destination());
        BackupJob bj = new BackupJob(catalog, dest, destName, BackupOptions.defaults().withReread(spec.reread()), clock);
        log.info("job start job={} vm=\"{}\" policy={} trigger=\"{}\" source={} snapshot={} capBytesPerSecond={}",
                job.id(), vm.displayName(), spec.policy(), spec.trigger(),
                spec.source() != null ? spec.source() : p == null ? "auto" : p.source().yaml(),
                spec.snapshot(), cap);
        try (IoScheduler.Job ioJob = ioScheduler == null ? null : ioScheduler.register(job.id(), spec.priority());
                PointInTime pit = pointInTime(p, ds, vm, spec, job)) {
            // the load-aware scheduler paces the reads (by priority), the policy's cap bounds them
            ReadThrottle paced = ioJob == null ? ReadThrottle.NONE : ioJob::acquire;
            bj.withThrottle(new RateCap(cap).after(paced));
            BackupJob.Report r = bj.run(ds.path(), vm, pit, spec.policy(), job.counters, job.cancel::get);
            totals.bytesRead.addAndGet(r.bytesRead());
            totals.bytesCarried.addAndGet(r.bytesCarried());
            totals.bytesNew.addAndGet(r.bytesNew());
            totals.bytesSent.addAndGet(r.bytesSent());
            Map<String, Object> res = new LinkedHashMap<>();
            res.put("files", r.files());
            res.put("bytesRead", r.bytesRead());
            res.put("bytesCarried", r.bytesCarried());
            res.put("bytesNew", r.bytesNew());
            res.put("bytesSent", r.bytesSent());
            res.put("seconds", r.elapsed().toMillis() / 1000.0);
            res.put("consistency", pit.consistency());
            List<String> diskErrors = r.disks().stream().filter(d -> !d.ok()).map(BackupJob.DiskOutcome::error).toList();
            res.put("diskErrors", diskErrors);
            res.put("complete", r.complete());
            res.put("filesCatalogued", r.info().files());
            List<Map<String, Object>> disks = new ArrayList<>();
            for (BackupJob.DiskOutcome d : r.disks()) {
                Map<String, Object> dm = new LinkedHashMap<>();
                dm.put("slot", d.slot());
                dm.put("file", d.leaf().toString());
                dm.put("ok", d.ok());
                dm.put("error", d.error());
                dm.put("warnings", d.warnings());
                disks.add(dm);
            }
            res.put("disks", disks);
            int pruned = p == null ? 0 : applyRetention(job, p, r.info(), dest, cfg);
            res.put("pruned", pruned);
            Job.State end = r.complete() ? Job.State.COMPLETE : Job.State.PARTIAL;
            (r.complete() ? totals.backupsComplete : totals.backupsPartial).incrementAndGet();
            finish(job, end, diskErrors.isEmpty() ? null : String.join("; ", diskErrors), r.backupId(), res);
            log.info("job end job={} vm=\"{}\" policy={} state={} backup={} files={} read={} carried={} new={} sent={}"
                    + " seconds={} pruned={}", job.id(), vm.displayName(), spec.policy(), end.json(), r.backupId(), r.files(),
                    r.bytesRead(), r.bytesCarried(), r.bytesNew(), r.bytesSent(), r.elapsed().toMillis() / 1000.0, pruned);
        } catch (IOException | RuntimeException e) {
            if (job.cancel.get()) {
                cancelled(job, vm);
                return;
            }
            if (e instanceof InterruptedIOException) {
                finish(job, Job.State.FAILED, e.getMessage(), 0, Map.of());
                return;
            }
            if (destinationProblem(e)) {
                destinationFailed(String.valueOf(e.getMessage()));
                waitForDestination(job, e.getMessage());
                return;
            }
            totals.backupsFailed.incrementAndGet();
            finish(job, Job.State.FAILED, e.getMessage(), 0, Map.of());
            log.error("job end job={} vm=\"{}\" policy={} state=failed error=\"{}\"", job.id(), vm.displayName(),
                    spec.policy(), e.getMessage());
        }
    }

    private void cancelled(Job job, VirtualMachine vm) {
        String why = job.cancelReason == null ? "cancelled" : job.cancelReason;
        if (why.equals("window")) {
            job.cancel.set(false);
            job.cancelReason = null;
            job.waitUntil(Job.State.QUEUED, null, "cancelled at the end of its window; runs again in the next one");
            log.info("job end job={} vm=\"{}\" state=requeued reason=window-closed", job.id(), vm.displayName());
            return;
        }
        // shutdown: the state file keeps the job, so the next start runs it again
        job.ended(Job.State.CANCELLED, clock.instant(), "the agent stopped; it runs again at the next start", 0, Map.of());
        log.info("job end job={} vm=\"{}\" state=cancelled reason={} action=re-run-at-start", job.id(),
                vm.displayName(), why);
    }

    private void waitForDestination(Job job, String why) {
        int attempt = job.attempts();
        long delay = options.retryDelayMillis(attempt);
        Instant at = clock.instant().plusMillis(delay);
        totals.destinationRetries.incrementAndGet();
        job.waitUntil(Job.State.WAITING_FOR_DESTINATION, at, why);
        log.warn("job waiting job={} state=waiting-for-destination attempt={} retryInMillis={} error=\"{}\"", job.id(),
                attempt, delay, why);
    }

    /** Whether a failure came from the destination's transport (it is then retried) rather than the source. */
    static boolean destinationProblem(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.ConnectException || t instanceof java.nio.channels.ClosedChannelException
                    || t instanceof java.net.SocketException || t instanceof dev.coffer.dedup.RemoteException
                    || t instanceof java.util.concurrent.TimeoutException) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    private void finish(Job job, Job.State s, String why, long backupId, Map<String, Object> result) {
        job.ended(s, clock.instant(), why, backupId, result);
        if (job.spec().kind() == Job.Kind.BACKUP && job.seq > 0) {
            try {
                state.remove(job.seq);
            } catch (IOException e) {
                log.error("agent state file not writable error=\"{}\"", e.getMessage());
            }
        }
    }

    private PointInTime pointInTime(AgentConfig.Policy p, AgentConfig.Datastore ds, VirtualMachine vm, Job.Spec spec,
            Job job) throws IOException {
        if (spec.source() != null && !spec.source().equals("auto")) {
            return switch (spec.source()) {
                case "live" -> new LiveSource();
                case "vm-snapshot" -> new VmSnapshotSource();
                case "reflink" -> new ReflinkCloneSource(ds.path(), job.id());
                default -> new StorageSnapshotSource(ds.path(), ds.snapshotTemplate().orElseThrow(
                        () -> new IOException("datastore " + ds.name() + " has no snapshots template")),
                        spec.snapshot() != null ? spec.snapshot() : newestSnapshot(ds));
            };
        }
        if (p == null || "auto".equals(spec.source())) {
            for (VirtualMachine.VmDisk d : vm.disks()) {
                try (VirtualDisk disk = VirtualDisk.open(d.leaf())) {
                    if (disk.chain().size() < 2) {
                        return new LiveSource();
                    }
                }
            }
            return vm.disks().isEmpty() ? new LiveSource() : new VmSnapshotSource();
        }
        if (spec.snapshot() != null) {
            // a new-snapshot trigger reads that snapshot, whatever the policy's source for its schedules
            return new StorageSnapshotSource(ds.path(), ds.snapshotTemplate().orElseThrow(
                    () -> new IOException("datastore " + ds.name() + " has no snapshots template")), spec.snapshot());
        }
        return switch (p.source()) {
            case LIVE -> new LiveSource();
            case VM_SNAPSHOT -> new VmSnapshotSource();
            case REFLINK -> new ReflinkCloneSource(ds.path(), job.id());
            case STORAGE_SNAPSHOT -> {
                String template = ds.snapshotTemplate().orElseThrow(
                        () -> new IOException("datastore " + ds.name() + " has no snapshots template"));
                String snap = spec.snapshot() != null ? spec.snapshot() : newestSnapshot(ds);
                yield new StorageSnapshotSource(ds.path(), template, snap);
            }
        };
    }

    /** The newest snapshot of a datastore (modification time, then name), for a scheduled storage-snapshot backup. */
    static String newestSnapshot(AgentConfig.Datastore ds) throws IOException {
        Path parent = Triggers.snapshotParent(ds);
        String best = null;
        java.nio.file.attribute.FileTime bestTime = null;
        int n = 0;
        if (Files.isDirectory(parent)) {
            try (DirectoryStream<Path> dir = Files.newDirectoryStream(parent)) {
                for (Path s : dir) {
                    if (++n > Triggers.MAX_SNAPSHOTS) {
                        break;
                    }
                    String name = s.getFileName().toString();
                    if (name.startsWith(".") || !Files.isDirectory(s, LinkOption.NOFOLLOW_LINKS)) {
                        continue;
                    }
                    var t = Files.getLastModifiedTime(s);
                    if (best == null || t.compareTo(bestTime) > 0 || t.equals(bestTime) && name.compareTo(best) > 0) {
                        best = name;
                        bestTime = t;
                    }
                }
            }
        }
        if (best == null) {
            throw new DiscoveryException("datastore " + ds.name() + ": no storage snapshot in " + parent
                    + " to back up from (the policy reads storage snapshots)");
        }
        return best;
    }

    /** Applies the policy's retention to the VM's complete backups by this policy; returns how many were pruned. */
    private int applyRetention(Job job, AgentConfig.Policy p, BackupInfo made, Destination dest, AgentConfig cfg) {
        try {
            List<BackupInfo> mine = new ArrayList<>();
            for (BackupInfo b : catalog.backups(made.vmId())) {
                if (b.state() == BackupState.COMPLETE && p.name().equals(b.policy())) {
                    mine.add(b);
                }
            }
            List<BackupInfo> prune = Retention.toPrune(mine, p.retention(), cfg.zone());
            if (prune.isEmpty()) {
                return 0;
            }
            BackupJob namer = new BackupJob(catalog, dest, Destinations.name(cfg.destination()), BackupOptions.defaults(), clock);
            for (BackupInfo b : prune) {
                catalog.prune(b.id());
                dest.deleteManifest(namer.manifestId(b.id())).get(5, TimeUnit.MINUTES);
                totals.backupsPruned.incrementAndGet();
                log.info("pruned backup={} vm={} policy={} started={}", b.id(), made.vmId(), p.name(), b.started());
            }
            if (dest instanceof LocalDestination local) {
                var gc = local.store().gc();
                log.info("gc after prune job={} report={}", job.id(), gc);
            }
            return prune.size();
        } catch (IOException | ExecutionException | java.util.concurrent.TimeoutException e) {
            log.error("retention failed job={} policy={} error=\"{}\"", job.id(), p.name(), e.getMessage());
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    private void runRestore(Job job) {
        RestoreRequest req = job.restore;
        try {
            Destination dest = destination();
            if (req.disk() != null) {
                restoreDisk(job, req, dest);
            } else if (req.vmFiles()) {
                BackupInfo b = BackupRef.named(catalog, req.spec(), req.vm());
                Path dir = Files.createDirectories(Path.of(req.to()));
                List<String> names = new ArrayList<>();
                for (DiskInfo d : catalog.disks(b.vmId())) {
                    names.addAll(new DiskRebuilder(catalog, dest).writeVmFiles(b.id(), d.id(), dir));
                }
                Map<String, Object> res = RestoreCommand.vmFilesSummary(b.id(), dir, names);
                totals.restoresDone.incrementAndGet();
                job.ended(Job.State.COMPLETE, clock.instant(), null, b.id(), res);
                log.info("job end job={} restore=\"{}\" state=complete vmFiles={}", job.id(), req.display(), names);
            } else {
                restoreFiles(job, req, dest);
            }
        } catch (IOException | RuntimeException e) {
            job.ended(Job.State.FAILED, clock.instant(), String.valueOf(e.getMessage()), 0, Map.of());
            log.error("job end job={} restore=\"{}\" state=failed error=\"{}\"", job.id(), req.display(), e.getMessage());
        }
    }

    private void restoreFiles(Job job, RestoreRequest req, Destination dest) throws IOException {
        BackupRef ref = BackupRef.resolve(catalog, req.spec(), req.vm(), req.volume());
        int colon = req.spec().indexOf(":/");
        String path = colon < 0 ? "/" : req.spec().substring(colon + 1);
        List<FileRestore.Item> items = new Selection(catalog, ref.backup().id(), ref.volume().id(), req.existing())
                .select(path, req.streams(), req.glob());
        job.restoreTotal = items.stream().mapToLong(i -> i.file().size()).sum();
        FileRestore.Options options = FileRestore.Options.defaults();
        if (req.workers() > 0) {
            options = options.withWorkers(req.workers());
        }
        log.info("job start job={} restore=\"{}\" files={} bytes={} to={}", job.id(), req.display(), items.size(),
                job.restoreTotal, req.to());
        FileRestore.Report r;
        try (RestoreTarget target = req.remoteTarget()
                ? new HttpTargetClient(java.net.URI.create(req.to()), req.targetToken(), HttpTargetClient.Options.defaults())
                : DirectoryTarget.open(Files.createDirectories(Path.of(req.to())),
                        DirectoryTarget.Options.defaults().withDurability(DirectoryTarget.Durability.AT_CLOSE)
                                .withDirectWrites(req.directIo()))) {
            FileRestore fr = new FileRestore(dest, target, options);
            try (ProgressWatch w = new ProgressWatch(job, fr.bytesDone::get)) {
                r = fr.run(items);
            }
        }
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("backup", ref.backup().id());
        res.put("bytesTotal", job.restoreTotal);
        res.putAll(RestoreCommand.summary(r));
        limitResults(res);
        res.put("errors", r.outcomes().stream().filter(o -> !o.ok()).map(FileRestore.Outcome::error).limit(100).toList());
        Job.State end = r.failed() == 0 ? Job.State.COMPLETE : r.failed() == r.outcomes().size()
                ? Job.State.FAILED : Job.State.PARTIAL;
        totals.restoresDone.incrementAndGet();
        job.ended(end, clock.instant(), end == Job.State.COMPLETE ? null : r.failed() + " of " + r.outcomes().size()
                + " files failed", ref.backup().id(), res);
        log.info("job end job={} restore=\"{}\" state={} files={} failed={} written={} seconds={}", job.id(),
                req.display(), end.json(), r.outcomes().size(), r.failed(), r.bytesWritten(), r.elapsed().toMillis() / 1000.0);
    }

    /**
     * Per-file results a finished restore job keeps: 10,000 (a few MB; the daemon keeps up to
     * {@link #MAX_FINISHED} jobs). Beyond that the failed and renamed ones are kept first, then the
     * rest in name order, and {@code resultsOmitted} says how many were left out.
     */
    static final int MAX_RESULTS = 10_000;

    @SuppressWarnings("unchecked")
    static void limitResults(Map<String, Object> res) {
        List<Map<String, Object>> all = (List<Map<String, Object>>) res.get("results");
        if (all.size() <= MAX_RESULTS) {
            return;
        }
        List<Map<String, Object>> kept = new ArrayList<>();
        for (Map<String, Object> m : all) {
            if (kept.size() < MAX_RESULTS && (!Boolean.TRUE.equals(m.get("ok")) || "renamed".equals(m.get("outcome")))) {
                kept.add(m);
            }
        }
        Set<Map<String, Object>> chosen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        chosen.addAll(kept);
        for (Map<String, Object> m : all) {
            if (kept.size() >= MAX_RESULTS) {
                break;
            }
            if (!chosen.contains(m)) {
                kept.add(m);
            }
        }
        kept.sort(java.util.Comparator.comparing(m -> String.valueOf(m.get("file"))));
        res.put("results", kept);
        res.put("resultsOmitted", all.size() - kept.size());
        List<String> renamed = (List<String>) res.get("renamed");
        if (renamed.size() > MAX_RESULTS) {
            res.put("renamed", new ArrayList<>(renamed.subList(0, MAX_RESULTS)));
            res.put("renamedOmitted", renamed.size() - MAX_RESULTS);
        }
    }

    private void restoreDisk(Job job, RestoreRequest req, Destination dest) throws IOException {
        BackupInfo b = BackupRef.named(catalog, req.spec(), req.vm());
        DiskInfo d = disk(b, req.disk());
        Path out = Path.of(req.to());
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        job.restoreTotal = d.capacityBytes();
        log.info("job start job={} restore=\"{}\" disk={} format={} bytes={} to={}", job.id(), req.display(), d.slot(),
                req.format().json(), d.capacityBytes(), out);
        long t0 = System.nanoTime();
        long n;
        if (req.format() == RestoreRequest.DiskFormat.RAW) {
            // random access into a sparse file: holes stay holes
            n = new DiskRebuilder(catalog, dest).rebuild(b.id(), d.id(), d.capacityBytes(), out);
            job.restoreBytes.set(d.capacityBytes());
        } else if (req.format() == RestoreRequest.DiskFormat.VMDK_SPARSE) {
            SparseVmdkExport export = new SparseVmdkExport(dest, DiskLayout.of(catalog, b.id(), d.id(), d.capacityBytes()));
            try (java.io.OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(out), 1 << 20);
                    ProgressWatch w = new ProgressWatch(job, export::written)) {
                export.write(os, out.getFileName().toString());
            }
            n = export.written();
            job.restoreBytes.set(n);
        } else {
            DiskExport export = new DiskExport(dest, DiskLayout.of(catalog, b.id(), d.id(), d.capacityBytes()));
            try (java.io.OutputStream os = new java.io.BufferedOutputStream(Files.newOutputStream(out), 1 << 20);
                    ProgressWatch w = new ProgressWatch(job, export::written)) {
                export.writeStreamOptimized(os, out.getFileName().toString());
            }
            n = export.written();
            job.restoreBytes.set(n);
        }
        Map<String, Object> res = RestoreCommand.diskSummary(b.id(), d.slot(), out, d.capacityBytes(), n);
        res.put("format", req.format().json());
        res.put("seconds", (System.nanoTime() - t0) / 1_000_000 / 1000.0);
        totals.restoresDone.incrementAndGet();
        job.ended(Job.State.COMPLETE, clock.instant(), null, b.id(), res);
        log.info("job end job={} restore=\"{}\" state=complete disk={} written={}", job.id(), req.display(), d.slot(), n);
    }

    /** Copies a restore's live byte count into its job every 200 ms while it runs. */
    private static final class ProgressWatch implements AutoCloseable {
        private final Thread thread;
        private final Job job;
        private final java.util.function.LongSupplier done;

        ProgressWatch(Job job, java.util.function.LongSupplier done) {
            this.job = job;
            this.done = done;
            thread = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    job.restoreBytes.set(done.getAsLong());
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "coffer-restore-progress-" + job.id());
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() {
            thread.interrupt();
            job.restoreBytes.set(done.getAsLong());
        }
    }

    /** Cancels jobs of policies whose window has closed (they are queued again for the next window). */
    void enforceWindows() {
        AgentConfig cfg = config;
        LocalTime local = clock.instant().atZone(cfg.zone()).toLocalTime();
        synchronized (queueLock) {
            for (Job j : jobs.values()) {
                if (j.state() == Job.State.RUNNING && j.spec().kind() == Job.Kind.BACKUP) {
                    Optional<AgentConfig.Window> w = policy(cfg, j.spec().policy()).flatMap(AgentConfig.Policy::window);
                    if (w.isPresent() && !w.get().contains(local) && !j.cancel.get()) {
                        log.info("window closed job={} policy={} action=cancel-and-requeue", j.id(), j.spec().policy());
                        j.cancelReason = "window";
                        j.cancel.set(true);
                    }
                }
            }
        }
    }

    /** Health for /v1/health: up, uptime, config file, destination, job counts. */
    public Map<String, Object> health() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", running ? "ok" : "stopping");
        m.put("startedAt", bootedAt.toString());
        m.put("config", configFile.toString());
        m.put("catalog", config.catalog().toString());
        m.put("timezone", config.zone().getId());
        m.put("policies", config.policies().stream().map(AgentConfig.Policy::name).toList());
        m.put("destination", destinationStatus());
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Job j : jobs()) {
            counts.merge(j.state().json(), 1, Integer::sum);
        }
        m.put("jobs", counts);
        if (governor != null) {
            var d = governor.decision();
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("rateBytesPerSecond", governor.rateBytesPerSecond());
            g.put("capBytesPerSecond", governor.capBytesPerSecond());
            g.put("paused", governor.paused());
            g.put("foregroundActive", governor.foregroundActive());
            DatastoresProbe.Watch w = governorWatch();
            if (w != null) {
                g.put("devices", w.devices().stream().map(dev -> dev.name()).toList());
                g.put("psiOnly", w.psiOnly());
                g.put("unresolved", w.failures());
            }
            if (d != null) {
                g.put("action", d.action().name().toLowerCase(Locale.ROOT));
                g.put("reason", d.reason());
            }
            m.put("load", g);
        }
        return m;
    }
}
