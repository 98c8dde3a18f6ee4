package dev.coffer.dedup;

import java.util.List;
import java.util.Map;

/**
 * The outcome of {@link BlockStore#verify()}: every indexed block re-read and re-hashed.
 *
 * @param blocksChecked blocks read
 * @param bytesChecked stored bytes read
 * @param damaged one line per damaged or missing block: SHA-256 hex, pack, offset, what is wrong
 * @param damagedBlocksByBackup backup id to the number of its listed blocks that are damaged or missing
 */
public record VerifyReport(long blocksChecked, long bytesChecked, List<String> damaged,
        Map<String, Long> damagedBlocksByBackup) {
    /** True when nothing is damaged. */
    public boolean ok() {
        return damaged.isEmpty() && damagedBlocksByBackup.isEmpty();
    }
}
