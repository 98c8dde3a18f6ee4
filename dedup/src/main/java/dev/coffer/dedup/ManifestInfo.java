package dev.coffer.dedup;

import java.time.Instant;

/**
 * One committed backup manifest at a destination.
 *
 * @param backupId the backup's id (1..128 of {@code [A-Za-z0-9._-]})
 * @param blockCount blocks listed (with repeats)
 * @param logicalBytes sum of the raw lengths of the listed blocks (with repeats)
 * @param committedAt when the destination made it durable
 */
public record ManifestInfo(String backupId, long blockCount, long logicalBytes, Instant committedAt) {}
