package dev.coffer.catalog;

import java.util.List;

/**
 * One stream of a {@link TreeFile}: its {@link StreamInfo} (name, size in bytes, block count, cluster runs)
 * and its blocks in stream order ({@code blocks.size() == info.blockCount()}, each {@link FileBlock#stream()}
 * equal to {@code info.name()}).
 */
public record TreeStream(StreamInfo info, List<FileBlock> blocks) {
    public TreeStream {
        blocks = List.copyOf(blocks);
    }
}
