package dev.coffer.agent.pit;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Where a backup reads a VM's files from so that all its disks show one moment: a storage snapshot,
 * a reflink clone, the frozen parents of an active VM snapshot, or (only when allowed) the live files.
 */
public interface PointInTime extends Closeable {
    /** How consistent the copy is, as recorded in the catalog (for example {@code storage-snapshot}). */
    String consistency();

    /** The file to read for {@code live}, a path in the datastore as the VM sees it. */
    Path resolve(Path live) throws IOException;

    /**
     * Whether the leaf of each chain is to be skipped: true for a VM snapshot, where the leaf is the
     * delta the running VM writes and its parents are frozen.
     */
    default boolean skipLeaf() {
        return false;
    }

    /** Releases what the source made (a clone); a snapshot or live source has nothing to release. */
    @Override
    default void close() throws IOException {}
}
