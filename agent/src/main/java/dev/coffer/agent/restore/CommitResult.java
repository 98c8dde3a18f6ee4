package dev.coffer.agent.restore;

import java.util.List;

/**
 * What a {@link RestoreTarget#commit} did with one file.
 *
 * @param outcome whether the file was written, written under a new name, or skipped
 * @param path the final path relative to the root, components joined with {@code /}
 * @param mappings names that had to be changed to be safe on the target (see {@link SafeNames})
 * @param metadata where the NTFS attributes, creation time and security descriptor went
 */
public record CommitResult(Outcome outcome, String path, List<NameMapping> mappings, Metadata metadata) {
    /** Copies the list. */
    public CommitResult {
        mappings = List.copyOf(mappings);
    }

    /** What happened to the file. */
    public enum Outcome {
        /** Written at its (mapped) name; nothing was there before. */
        WRITTEN,
        /** Written over an existing file ({@link ExistingPolicy#OVERWRITE}). */
        OVERWRITTEN,
        /** Written beside an existing file under {@code name (N).ext} ({@link ExistingPolicy#RENAME}). */
        RENAMED,
        /** Not written because the file exists ({@link ExistingPolicy#SKIP}). */
        SKIPPED
    }

    /** Where the NTFS metadata that the file system cannot hold natively was kept. */
    public enum Metadata {
        /** Nothing to keep (no attributes, creation time or security descriptor), or the file was skipped. */
        NONE,
        /** In {@code user.coffer.ntfs.*} extended attributes of the file. */
        XATTR,
        /** In a JSON sidecar file {@code NAME.coffer-meta.json} beside the file. */
        SIDECAR
    }
}
