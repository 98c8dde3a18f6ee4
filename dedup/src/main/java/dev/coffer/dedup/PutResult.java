package dev.coffer.dedup;

/**
 * The durable acknowledgement of one stored block.
 *
 * @param rawLength bytes of the block as the backup saw it
 * @param storedLength bytes it occupies in the pack (≤ rawLength)
 * @param codec how it is stored
 * @param alreadyPresent true when the destination already held it and nothing was written
 */
public record PutResult(int rawLength, int storedLength, Codec codec, boolean alreadyPresent) {}
