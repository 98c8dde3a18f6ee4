package dev.coffer.agent.pit;

import java.nio.file.Path;

/**
 * Reads the frozen parents of an active VM snapshot: the chain below the delta the VM writes now.
 * The files are read in place; the leaf is skipped by the disk opener.
 */
public final class VmSnapshotSource implements PointInTime {
    @Override
    public String consistency() {
        return "vm-snapshot";
    }

    @Override
    public Path resolve(Path live) {
        return live;
    }

    @Override
    public boolean skipLeaf() {
        return true;
    }
}
