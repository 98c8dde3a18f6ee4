package dev.coffer.catalog;

/**
 * The life cycle of a backup: {@code RUNNING} from {@link Catalog#beginBackup} until it is marked
 * {@code COMPLETE} (visible to queries) or {@code FAILED} (its changes undone); a complete backup can later
 * be {@code PRUNED} (no longer queryable; versions only it needed are deleted).
 */
public enum BackupState {
    RUNNING, COMPLETE, FAILED, PRUNED;

    /** The lower-case spelling stored in the {@code backup.state} column. */
    String sql() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    static BackupState parseSql(String s) {
        return valueOf(s.toUpperCase(java.util.Locale.ROOT));
    }
}
