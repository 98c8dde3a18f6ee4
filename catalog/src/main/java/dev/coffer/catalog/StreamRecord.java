package dev.coffer.catalog;

import java.util.List;

/**
 * One stream of a file as the engine saw it: {@code name} ("" for the unnamed {@code $DATA} stream),
 * logical size in bytes, its blocks in stream order and its cluster runs (empty when resident).
 */
public record StreamRecord(String name, long size, List<BlockRef> blocks, List<Run> runs) {
    public StreamRecord {
        if (name == null || size < 0) {
            throw new IllegalArgumentException("stream name=" + name + " size=" + size);
        }
        blocks = List.copyOf(blocks);
        runs = List.copyOf(runs);
    }
}
