package dev.coffer.ntfs;

/** A range of {@code clusterCount} consecutive clusters of the volume starting at logical cluster number {@code lcn}. */
public record ClusterRange(long lcn, long clusterCount) {}
