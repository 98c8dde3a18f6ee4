package dev.coffer.catalog;

import java.util.List;

/**
 * A non-file region of a disk backed up as blocks (a partition Coffer cannot crack, a gap outside every
 * partition): disk byte offset and length, a kind label ("raw-partition", "gap", ...) and its blocks, whose
 * offsets are relative to {@code offsetBytes}.
 */
public record Region(long id, long diskId, long offsetBytes, long lengthBytes, String kind, List<BlockRef> blocks) {
    public Region {
        blocks = List.copyOf(blocks);
    }
}
