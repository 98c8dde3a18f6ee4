package dev.coffer.catalog;

import java.util.List;

/**
 * One non-directory version of a tree, as {@link Catalog#forEachFileUnder} streams it: its entry and every
 * stream (sorted by stream name, "" = unnamed {@code $DATA} first) with that stream's blocks in order.
 */
public record TreeFile(Entry entry, List<TreeStream> streams) {
    public TreeFile {
        streams = List.copyOf(streams);
    }
}
