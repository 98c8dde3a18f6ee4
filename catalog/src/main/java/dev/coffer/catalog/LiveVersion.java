package dev.coffer.catalog;

/**
 * A version live in some backup, as the engine needs it to decide "unchanged": pass {@code versionId} to
 * {@link FileIngest#carry} when the file's fingerprint still matches.
 */
public record LiveVersion(long versionId, String path, long mftRecord, int mftSequence, long size, long fingerprint) {}
