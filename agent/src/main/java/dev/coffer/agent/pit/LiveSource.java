package dev.coffer.agent.pit;

import java.nio.file.Path;

/** Reads the files as they are now, while the VM may write them: the backup is crash-inconsistent. */
public final class LiveSource implements PointInTime {
    @Override
    public String consistency() {
        return "live-crash-inconsistent";
    }

    @Override
    public Path resolve(Path live) {
        return live;
    }
}
