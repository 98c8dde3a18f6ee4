package dev.coffer.agent.daemon;

import java.time.Duration;

/**
 * Timing and size knobs of the daemon (not in the YAML file: they are the same on every controller).
 *
 * @param tickMillis how often the trigger thread evaluates cron schedules against the clock
 * @param snapshotPollMillis how often each datastore's snapshot directory is listed
 * @param retryBaseMillis first wait after a destination failure; doubles per attempt
 * @param retryMaxMillis longest wait between destination attempts
 * @param shutdownWaitMillis how long stop() waits for cancelled jobs to end
 * @param maxRequestBytes largest HTTP request (headers + body) the query API accepts
 * @param requestTimeoutMillis a request not complete within this is answered 408 and closed
 */
public record DaemonOptions(long tickMillis, long snapshotPollMillis, long retryBaseMillis, long retryMaxMillis,
        long shutdownWaitMillis, int maxRequestBytes, long requestTimeoutMillis) {

    /**
     * The defaults: cron is minute-grained, so a 1 s tick fires within a second of the minute; a
     * storage snapshot is found within 5 s (listing one directory costs microseconds, but a snapshot
     * tool may take seconds to finish, and a backup a few seconds late loses nothing); retries start
     * at 5 s and back off to 5 min so a destination that is down for an hour sees 12 attempts an hour,
     * not 720; 64 KiB holds any request the API defines (they are all small query strings or JSON
     * objects); 10 s is far above what a local client needs to send 64 KiB.
     */
    public static DaemonOptions defaults() {
        return new DaemonOptions(1000, 5000, 5000, 300_000, 30_000, 64 << 10, 10_000);
    }

    /** The same with other trigger periods (tests). */
    public DaemonOptions withPeriods(long tick, long snapshotPoll) {
        return new DaemonOptions(tick, snapshotPoll, retryBaseMillis, retryMaxMillis, shutdownWaitMillis,
                maxRequestBytes, requestTimeoutMillis);
    }

    /** The same with other retry waits (tests). */
    public DaemonOptions withRetry(long base, long max) {
        return new DaemonOptions(tickMillis, snapshotPollMillis, base, max, shutdownWaitMillis, maxRequestBytes,
                requestTimeoutMillis);
    }

    /** The same with another request timeout (tests). */
    public DaemonOptions withRequestTimeout(Duration d) {
        return new DaemonOptions(tickMillis, snapshotPollMillis, retryBaseMillis, retryMaxMillis, shutdownWaitMillis,
                maxRequestBytes, d.toMillis());
    }

    /** The wait before attempt {@code attempt + 1} (attempt counts from 1): base · 2^(attempt-1), capped. */
    public long retryDelayMillis(int attempt) {
        int shift = Math.min(Math.max(attempt - 1, 0), 30);
        long d = retryBaseMillis << shift;
        return d <= 0 || d > retryMaxMillis ? retryMaxMillis : d;
    }
}
