package dev.coffer.catalog;

import java.time.Instant;

/**
 * One backup with its totals. {@code ended} and the totals are null/0 until it completes. Totals:
 * {@code files} = non-directory entries, {@code logicalBytes} = sum of their sizes, {@code newBytes} = raw
 * bytes of blocks first seen in this backup, {@code storedBytes} = bytes those new blocks occupy at the
 * destination.
 */
public record BackupInfo(long id, long vmId, BackupState state, Instant started, Instant ended,
        String consistencySource, String policy, String error, long files, long logicalBytes, long newBytes,
        long storedBytes) {}
