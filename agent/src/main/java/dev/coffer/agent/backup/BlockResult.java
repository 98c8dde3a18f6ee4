package dev.coffer.agent.backup;

import dev.coffer.dedup.BlockHash;

/**
 * What one {@link BlockTask} became: its identity and whether this backup sent it.
 *
 * @param offset the task's offset
 * @param length raw bytes
 * @param hash MD5 and SHA-256 of the raw bytes
 * @param zeroTail for a stream's last block read to its cluster's end: whether the slack after the
 *     data was all zeros (so the cluster is rebuilt exactly from the content alone)
 */
record BlockResult(long offset, int length, BlockHash hash, boolean zeroTail) {}
