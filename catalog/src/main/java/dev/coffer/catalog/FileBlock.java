package dev.coffer.catalog;

/**
 * One block of a file's stream, in order: the stream offset (bytes), identity, raw size, and where it is
 * stored (-1 / null while no destination has acknowledged it).
 */
public record FileBlock(String stream, long offset, byte[] sha256, byte[] md5, long sizeBytes, long storedSize,
        String codec) {}
