package dev.coffer.catalog;

import java.util.List;

/**
 * One file, directory or symlink as a backup saw it, for {@link FileIngest#add}.
 *
 * <p>{@code path} is the full path from the volume root, '/'-separated, starting with '/' (the root
 * directory itself is "/"). {@code mftRecord}/{@code mftSequence} identify the MFT record,
 * {@code parentRecord} its parent directory's record. Times are nanoseconds since the Unix epoch.
 * {@code attributes} are the NTFS file attribute flags. {@code fingerprint} is opaque to the catalog: the
 * engine's digest of whatever decides "unchanged" (record, sequence, size, times, runs) and is handed back by
 * {@link Catalog#forEachLiveVersion}.
 */
public record FileRecord(String path, long mftRecord, int mftSequence, long parentRecord, FileKind kind,
        long size, long createdNanos, long modifiedNanos, long mftChangedNanos, long accessedNanos,
        int attributes, long fingerprint, List<StreamRecord> streams) {
    public FileRecord {
        if (path == null || kind == null || size < 0) {
            throw new IllegalArgumentException("file path=" + path + " kind=" + kind + " size=" + size);
        }
        streams = List.copyOf(streams);
    }
}
