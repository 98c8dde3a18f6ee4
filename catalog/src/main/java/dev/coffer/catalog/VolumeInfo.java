package dev.coffer.catalog;

/**
 * A registered volume: partition {@code partitionIndex} of a disk, its byte offset and length on the disk,
 * filesystem kind ("ntfs" or "raw"), volume serial (may be null) and cluster size in bytes (0 for raw).
 */
public record VolumeInfo(long id, long diskId, int partitionIndex, long offsetBytes, long lengthBytes, String fsKind,
        String serial, int clusterBytes) {}
