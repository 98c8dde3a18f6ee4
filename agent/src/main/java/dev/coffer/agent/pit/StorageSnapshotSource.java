package dev.coffer.agent.pit;

import dev.coffer.agent.discovery.DiscoveryException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a VM's files from a storage snapshot the controller made, found through a path template.
 *
 * <p>The template names the snapshot's copy of the datastore root with {@code {datastore}} (the live
 * datastore path) and {@code {snapshot}} (the snapshot's name), for example
 * {@code {datastore}/.zfs/snapshot/{snapshot}} or {@code {datastore}/.snapshot/{snapshot}}. A live
 * file {@code DATASTORE/vm/disk.vmdk} is read from {@code SNAPSHOTROOT/vm/disk.vmdk}.
 */
public final class StorageSnapshotSource implements PointInTime {
    private final Path datastore;
    private final Path snapshotRoot;

    /**
     * @param datastore the live datastore directory
     * @param template the snapshot root template (see the class comment)
     * @param snapshot the snapshot's name
     */
    public StorageSnapshotSource(Path datastore, String template, String snapshot) throws IOException {
        if (snapshot.isEmpty() || snapshot.contains("/") || snapshot.equals("..") || snapshot.equals(".")) {
            throw new DiscoveryException("snapshot name \"" + snapshot + "\" is not a single path component");
        }
        this.datastore = datastore.toAbsolutePath().normalize();
        this.snapshotRoot = Path.of(template.replace("{datastore}", this.datastore.toString())
                .replace("{snapshot}", snapshot)).toAbsolutePath().normalize();
        if (!Files.isDirectory(snapshotRoot)) {
            throw new DiscoveryException("storage snapshot " + snapshotRoot + " does not exist (template \""
                    + template + "\")");
        }
    }

    @Override
    public String consistency() {
        return "storage-snapshot";
    }

    /** The snapshot root this source reads from. */
    public Path snapshotRoot() {
        return snapshotRoot;
    }

    @Override
    public Path resolve(Path live) throws IOException {
        Path abs = live.toAbsolutePath().normalize();
        if (!abs.startsWith(datastore)) {
            throw new DiscoveryException(live + " is not inside the datastore " + datastore);
        }
        Path p = snapshotRoot.resolve(datastore.relativize(abs)).normalize();
        if (!p.startsWith(snapshotRoot)) {
            throw new DiscoveryException(live + " leaves the snapshot " + snapshotRoot);
        }
        if (!Files.exists(p)) {
            throw new DiscoveryException(p + ": not in the storage snapshot (the file is newer than it)");
        }
        return p;
    }
}
