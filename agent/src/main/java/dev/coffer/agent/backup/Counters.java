package dev.coffer.agent.backup;

import java.util.concurrent.atomic.AtomicLong;

/** Live figures of a running backup, read by the progress line, the API and the summary. */
public final class Counters {
    /** Bytes the backup will read at most (allocated clusters and grains), known after planning. */
    public final AtomicLong bytesPlanned = new AtomicLong();
    /** Bytes read from the disks. */
    public final AtomicLong bytesRead = new AtomicLong();
    /** Content of unchanged files carried forward without reading. */
    public final AtomicLong bytesCarried = new AtomicLong();
    /** Raw bytes of blocks the destination did not have. */
    public final AtomicLong bytesNew = new AtomicLong();
    /** Bytes sent after compression. */
    public final AtomicLong bytesSent = new AtomicLong();
    /** Files and directories catalogued. */
    public final AtomicLong files = new AtomicLong();
}
