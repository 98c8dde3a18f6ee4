package dev.coffer.vmdk;

import java.nio.file.Path;
import java.util.function.LongSupplier;

/**
 * One file a layer's extents are read from, for a caller that reads it ahead of its readers.
 *
 * @param path    the file
 * @param grained whether it holds grains (sparse, streamOptimized, seSparse, COWD): then it holds what was
 *                written, not the disk's free space as a flat extent does
 * @param lastRead where the most recent read of the file ended (0 before any; a hint, updated without
 *                ordering; for a file several extents share, the furthest of their most recent reads)
 */
public record ExtentFile(Path path, boolean grained, LongSupplier lastRead) {}
