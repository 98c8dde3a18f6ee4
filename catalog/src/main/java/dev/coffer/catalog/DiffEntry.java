package dev.coffer.catalog;

/** One difference between two backups of a VM: a path that was added, removed or changed, with its sizes (bytes; 0 when absent). */
public record DiffEntry(long volumeId, String path, Change change, long sizeBefore, long sizeAfter) {
    /** The kind of difference. */
    public enum Change { ADDED, REMOVED, CHANGED }
}
