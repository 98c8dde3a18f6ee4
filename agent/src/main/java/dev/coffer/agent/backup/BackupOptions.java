package dev.coffer.agent.backup;

/**
 * Knobs of a backup.
 *
 * @param blockBytes the block size B (see docs/performance.md for the measurement behind the default)
 * @param workers read/hash threads
 * @param buffers blocks held in memory at once (memory = buffers x (blockBytes + tailAllowance))
 * @param tailAllowance the most slack bytes read past a stream's end to check they are zero
 * @param idleIo run the readers in the idle I/O class (the controller's own I/O first)
 * @param reread read and hash every file again instead of trusting what the previous backup recorded
 *     (file metadata, the snapshot delta): {@code coffer backup --full}. Blocks the destination holds
 *     are still not sent, and files whose content turns out unchanged still share the previous
 *     backup's catalog rows.
 */
public record BackupOptions(int blockBytes, int workers, int buffers, int tailAllowance, boolean idleIo,
        boolean reread) {
    /** Largest block: the catalog and the wire cap blocks well above this. */
    public static final int MAX_BLOCK_BYTES = 8 << 20;

    public BackupOptions {
        if (blockBytes < 4096 || blockBytes > MAX_BLOCK_BYTES || Integer.bitCount(blockBytes) != 1) {
            throw new IllegalArgumentException("block size must be a power of two from 4 KiB to 8 MiB: " + blockBytes);
        }
        if (workers < 1 || buffers < workers || tailAllowance < 0) {
            throw new IllegalArgumentException("workers " + workers + ", buffers " + buffers);
        }
    }

    /**
     * The defaults: 1 MiB blocks; one worker per core plus one so a worker waiting on the disk does
     * not idle a core; 32 buffers (32 MiB) keep the dedup stage fed; 64 KiB covers the slack of
     * every cluster size Windows formats by default.
     */
    public static BackupOptions defaults() {
        int cores = Runtime.getRuntime().availableProcessors();
        return new BackupOptions(1 << 20, cores + 1, 32, 64 << 10, true, false);
    }

    /** The same options with another block size. */
    public BackupOptions withBlockBytes(int bytes) {
        return new BackupOptions(bytes, workers, buffers, tailAllowance, idleIo, reread);
    }

    /** The same options, reading at full speed in the normal I/O class ({@code --no-throttle}). */
    public BackupOptions withoutIdleIo() {
        return new BackupOptions(blockBytes, workers, buffers, tailAllowance, false, reread);
    }

    /** The same options, re-reading every file ({@code --full}) or not. */
    public BackupOptions withReread(boolean reread) {
        return new BackupOptions(blockBytes, workers, buffers, tailAllowance, idleIo, reread);
    }
}
