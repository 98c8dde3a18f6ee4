package dev.coffer.catalog;

import java.util.List;

/**
 * One stream of a file as the engine saw it: {@code name} ("" for the unnamed {@code $DATA} stream),
 * logical size in bytes, its blocks in stream order, its cluster runs (empty when resident) and, for a
 * plain stream (non-resident, not compressed: its clusters are its content), its initialized size
 * (bytes past it read as zeros; -1 otherwise or when not known). A later backup compares the runs and
 * the initialized size to tell which blocks of a changed file still hold the same clusters.
 */
public record StreamRecord(String name, long size, List<BlockRef> blocks, List<Run> runs, long initialized) {
    public StreamRecord {
        if (name == null || size < 0 || initialized < -1) {
            throw new IllegalArgumentException("stream name=" + name + " size=" + size + " initialized=" + initialized);
        }
        blocks = List.copyOf(blocks);
        runs = List.copyOf(runs);
    }

    /** A stream whose initialized size is not known. */
    public StreamRecord(String name, long size, List<BlockRef> blocks, List<Run> runs) {
        this(name, size, blocks, runs, -1);
    }
}
