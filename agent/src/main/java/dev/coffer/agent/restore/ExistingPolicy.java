package dev.coffer.agent.restore;

/** What a restore does when the file it is about to write already exists at the target. */
public enum ExistingPolicy {
    /** Leave the existing file alone; nothing is transferred for this file. */
    SKIP,
    /** Replace the existing file atomically (rename over it) once the new one is verified. */
    OVERWRITE,
    /** Keep the existing file and write the restored one as {@code name (N).ext}. */
    RENAME
}
