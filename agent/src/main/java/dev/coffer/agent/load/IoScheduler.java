package dev.coffer.agent.load;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Shares one {@link IoGovernor}'s rate among backup jobs: a job with a higher priority always goes
 * first, jobs of equal priority share the rate equally by bytes (start-time fair queueing: each
 * request is tagged with the virtual time at which its job's previous requests end, the smallest tag
 * goes next).
 *
 * <p>One request at a time is in {@link IoGovernor#acquire}; the others wait here in order, so a
 * higher-priority job that arrives waits at most for the one request being granted. Thread-safe.
 */
public final class IoScheduler {
    private final IoGovernor governor;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // @GuardedBy("lock")
    private final PriorityQueue<Ticket> queue = new PriorityQueue<>(Comparator
            .comparingInt((Ticket t) -> -t.job.priority)
            .thenComparingLong(t -> t.startTag)
            .thenComparingLong(t -> t.seq));
    // @GuardedBy("lock")
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    // @GuardedBy("lock")
    private Ticket inService;
    // @GuardedBy("lock")
    private long virtualTime;
    // @GuardedBy("lock")
    private long seq;
    /** Test hook: told the job id of each request as it goes into service, under the lock. */
    volatile java.util.function.Consumer<String> dispatchListener;

    /** A scheduler in front of {@code governor}. */
    public IoScheduler(IoGovernor governor) {
        this.governor = governor;
    }

    /** The governor whose rate is shared. */
    public IoGovernor governor() {
        return governor;
    }

    /**
     * Registers a job; close the returned handle when the job ends.
     *
     * @param id a name unique among open jobs (shown in {@link #jobs()})
     * @param priority larger goes first
     * @throws IllegalArgumentException when a job with this id is open
     */
    public Job register(String id, int priority) {
        lock.lock();
        try {
            if (jobs.containsKey(id)) {
                throw new IllegalArgumentException("job " + id + " is already registered");
            }
            Job j = new Job(id, priority);
            jobs.put(id, j);
            return j;
        } finally {
            lock.unlock();
        }
    }

    /** The open jobs and what each has been granted, in registration order. */
    public List<JobState> jobs() {
        lock.lock();
        try {
            List<JobState> out = new ArrayList<>(jobs.size());
            for (Job j : jobs.values()) {
                out.add(new JobState(j.id, j.priority, j.grantedBytes, j.waiting,
                        inService != null && inService.job == j));
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    /**
     * A job's state for metrics and the API.
     *
     * @param id the job's id
     * @param priority its priority (larger goes first)
     * @param grantedBytes bytes granted to it so far
     * @param waiting requests of it that are queued behind others
     * @param inService true when one of its requests is being granted by the governor now
     */
    public record JobState(String id, int priority, long grantedBytes, int waiting,
            boolean inService) {}

    private static final class Ticket {
        final Job job;
        final long startTag;
        final long seq;

        Ticket(Job job, long startTag, long seq) {
            this.job = job;
            this.startTag = startTag;
            this.seq = seq;
        }
    }

    /** One registered job: its readers call {@link #acquire(long)} before every read. */
    public final class Job implements AutoCloseable {
        private final String id;
        private final int priority;
        // @GuardedBy("lock")
        private long finishTag;
        // @GuardedBy("lock")
        private long grantedBytes;
        // @GuardedBy("lock")
        private int waiting;

        private Job(String id, int priority) {
            this.id = id;
            this.priority = priority;
        }

        /** The job's id. */
        public String id() {
            return id;
        }

        /** The job's priority. */
        public int priority() {
            return priority;
        }

        /**
         * Waits for this job's turn and for the governor, then returns: the caller may read
         * {@code bytes}.
         *
         * @throws InterruptedException when interrupted while waiting (nothing is granted)
         */
        public void acquire(long bytes) throws InterruptedException {
            if (bytes < 0) {
                throw new IllegalArgumentException("acquire: bytes must be >= 0, found " + bytes);
            }
            Ticket t;
            lock.lock();
            try {
                long start = Math.max(virtualTime, finishTag);
                finishTag = start + bytes;
                t = new Ticket(this, start, seq++);
                queue.add(t);
                waiting++;
                try {
                    while (inService != null || queue.peek() != t) {
                        changed.await();
                    }
                } catch (InterruptedException e) {
                    queue.remove(t);
                    changed.signalAll();
                    throw e;
                } finally {
                    waiting--;
                }
                queue.poll();
                inService = t;
                virtualTime = t.startTag;
                java.util.function.Consumer<String> listener = dispatchListener;
                if (listener != null) {
                    listener.accept(id);
                }
            } finally {
                lock.unlock();
            }
            boolean granted = false;
            try {
                governor.acquire(bytes);
                granted = true;
            } finally {
                lock.lock();
                try {
                    inService = null;
                    if (granted) {
                        grantedBytes += bytes;
                    }
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        }

        /** Unregisters the job; requests already queued still complete. */
        @Override
        public void close() {
            lock.lock();
            try {
                jobs.remove(id, this);
            } finally {
                lock.unlock();
            }
        }
    }
}
