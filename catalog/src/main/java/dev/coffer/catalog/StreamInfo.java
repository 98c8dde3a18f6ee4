package dev.coffer.catalog;

import java.util.List;

/** One stream of a file version, as {@link Catalog#stat} returns it: name ("" = unnamed), size in bytes, number of blocks, cluster runs. */
public record StreamInfo(String name, long size, int blockCount, List<Run> runs) {}
