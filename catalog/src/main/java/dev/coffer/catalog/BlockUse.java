package dev.coffer.catalog;

/**
 * A place where a complete backup references a block: a file stream ({@code path}, {@code stream}, regionId 0)
 * or a non-file disk region ({@code regionId} > 0, {@code path} null).
 */
public record BlockUse(long backupId, long volumeId, String path, String stream, long regionId) {}
