package dev.coffer.catalog;

/**
 * One version of one path, as the queries return it. {@code validFrom} is the backup that first saw this
 * version; {@code validTo} the backup that replaced or deleted it, or 0 while it is still live. Times are
 * nanoseconds since the Unix epoch; sizes in bytes.
 */
public record Entry(long versionId, long volumeId, String path, String name, FileKind kind, long size,
        long mftRecord, int mftSequence, long parentRecord, long createdNanos, long modifiedNanos,
        long mftChangedNanos, long accessedNanos, int attributes, long fingerprint, long validFrom, long validTo) {}
