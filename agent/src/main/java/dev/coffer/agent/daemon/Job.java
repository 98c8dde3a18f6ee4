package dev.coffer.agent.daemon;

import dev.coffer.agent.backup.Counters;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One unit of work of the daemon: a backup of one VM for one policy, a restore, or a verify of the
 * stored data, with its
 * state and live progress. State changes happen under the job's monitor; the counters are atomic.
 */
public final class Job {
    /** What the job does. */
    public enum Kind { BACKUP, RESTORE, VERIFY }

    /** Where the job is in its life. Terminal: COMPLETE, PARTIAL, FAILED, CANCELLED, SKIPPED. */
    public enum State {
        QUEUED("queued"),
        WAITING_FOR_WINDOW("waiting-for-window"),
        WAITING_FOR_DESTINATION("waiting-for-destination"),
        RUNNING("running"),
        COMPLETE("complete"),
        PARTIAL("partial"),
        FAILED("failed"),
        CANCELLED("cancelled");

        private final String json;

        State(String json) {
            this.json = json;
        }

        /** The spelling in the API and the logs. */
        public String json() {
            return json;
        }

        /** Whether the job is over. */
        public boolean terminal() {
            return ordinal() >= COMPLETE.ordinal();
        }
    }

    /**
     * What to back up or restore, fixed when the job is made; this is what the state file keeps so a
     * job survives a restart.
     *
     * @param kind backup or restore
     * @param policy the policy name ({@code api} for a backup asked for on the socket without one)
     * @param datastore the datastore name
     * @param vmFolder the VM folder (absolute, live path)
     * @param trigger why it runs: {@code schedule "0 2 * * *"}, {@code snapshot NAME}, {@code catch-up},
     *     {@code api}, {@code recovery}
     * @param snapshot the storage snapshot to read, or null
     * @param priority 0..100, larger first
     * @param restoreSpec what the restore does, as shown ({@link RestoreRequest}), restores only
     * @param restoreTo where it restores to (a directory, a restore-target URL or an image file), restores only
     * @param source the point-in-time source asked for on the socket ({@code auto}, {@code live},
     *     {@code vm-snapshot}, {@code reflink}, {@code storage-snapshot}), or null for the policy's
     */
    public record Spec(Kind kind, String policy, String datastore, Path vmFolder, String trigger, String snapshot,
            int priority, String restoreSpec, String restoreTo, String source, boolean reread) {}

    final String id;
    final long seq;
    final Spec spec;
    final Instant queuedAt;
    final Counters counters = new Counters();
    final AtomicBoolean cancel = new AtomicBoolean();
    /** Why the job was cancelled: "shutdown" (re-run at the next start) or "window" (re-queued). */
    volatile String cancelReason;
    final AtomicLong restoreBytes = new AtomicLong();
    volatile long restoreTotal;
    /** What a restore asked for; null for backups. */
    final RestoreRequest restore;

    private State state = State.QUEUED;
    private Instant startedAt;
    private Instant endedAt;
    private Instant notBefore;
    private int attempts;
    private String error;
    private long backupId;
    private long bandwidthCap;
    private String vmName;
    private Map<String, Object> result = Map.of();

    Job(String id, long seq, Spec spec, Instant queuedAt) {
        this(id, seq, spec, queuedAt, null);
    }

    Job(String id, long seq, Spec spec, Instant queuedAt, RestoreRequest restore) {
        this.id = id;
        this.seq = seq;
        this.spec = spec;
        this.queuedAt = queuedAt;
        this.restore = restore;
    }

    /** The job id ({@code j-N}). */
    public String id() {
        return id;
    }

    /** What the job does. */
    public Spec spec() {
        return spec;
    }

    /** Bytes read so far (backups) or written so far (restores). */
    public long bytesRead() {
        return spec.kind() == Kind.BACKUP ? counters.bytesRead.get() : restoreBytes.get();
    }

    /** The current state. */
    public synchronized State state() {
        return state;
    }

    /** The catalog's id of the backup this job made, 0 before it started (backups only). */
    public synchronized long backupId() {
        return backupId;
    }

    /** Why it failed, or why it waits; null when neither. */
    public synchronized String error() {
        return error;
    }

    synchronized void state(State s, String why) {
        state = s;
        error = why;
        notifyAll();
    }

    synchronized void started(Instant at) {
        state = State.RUNNING;
        startedAt = at;
        attempts++;
        error = null;
        notifyAll();
    }

    synchronized void ended(State s, Instant at, String why, long backup, Map<String, Object> result) {
        state = s;
        endedAt = at;
        error = why;
        backupId = backup;
        this.result = result;
        notifyAll();
    }

    synchronized void waitUntil(State s, Instant notBefore, String why) {
        this.state = s;
        this.notBefore = notBefore;
        this.error = why;
        notifyAll();
    }

    /**
     * Waits until the job is over or {@code millis} have passed, whichever is first; returns whether it
     * is over. Every state change wakes the waiters, which look again.
     */
    public synchronized boolean awaitEnd(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!state.terminal()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    synchronized Instant notBefore() {
        return notBefore;
    }

    synchronized int attempts() {
        return attempts;
    }

    synchronized Instant startedAt() {
        return startedAt;
    }

    synchronized void describe(String vmName, long bandwidthCap) {
        this.vmName = vmName;
        this.bandwidthCap = bandwidthCap;
    }

    /** The job as the API shows it. */
    public synchronized Map<String, Object> view() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("kind", spec.kind().name().toLowerCase(java.util.Locale.ROOT));
        m.put("state", state.json());
        m.put("policy", spec.policy());
        m.put("datastore", spec.datastore());
        m.put("vm", vmName != null ? vmName : spec.vmFolder() == null ? null : spec.vmFolder().getFileName().toString());
        m.put("folder", spec.vmFolder() == null ? null : spec.vmFolder().toString());
        m.put("trigger", spec.trigger());
        m.put("snapshot", spec.snapshot());
        if (spec.source() != null) {
            m.put("source", spec.source());
        }
        if (spec.reread()) {
            m.put("full", true);
        }
        m.put("priority", spec.priority());
        m.put("bandwidthCapBytesPerSecond", bandwidthCap);
        m.put("queuedAt", queuedAt.toString());
        m.put("startedAt", startedAt == null ? null : startedAt.toString());
        m.put("endedAt", endedAt == null ? null : endedAt.toString());
        m.put("attempts", attempts);
        m.put("nextAttemptAt", notBefore == null || state.terminal() || state == State.RUNNING ? null : notBefore.toString());
        m.put("error", error);
        m.put("backup", backupId == 0 ? null : backupId);
        Map<String, Object> p = new LinkedHashMap<>();
        if (spec.kind() == Kind.BACKUP) {
            p.put("bytesPlanned", counters.bytesPlanned.get());
            p.put("bytesRead", counters.bytesRead.get());
            p.put("bytesCarried", counters.bytesCarried.get());
            p.put("bytesNew", counters.bytesNew.get());
            p.put("bytesSent", counters.bytesSent.get());
            p.put("files", counters.files.get());
        } else {
            p.put("bytesDone", restoreBytes.get());
            p.put("bytesTotal", restoreTotal);
        }
        m.put("progress", p);
        if (spec.restoreSpec() != null) {
            m.put("restore", spec.restoreSpec());
            m.put("to", spec.restoreTo());
        }
        m.put("result", result);
        return m;
    }
}
