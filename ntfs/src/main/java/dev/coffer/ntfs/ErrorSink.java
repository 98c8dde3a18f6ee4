package dev.coffer.ntfs;

/**
 * Receives the corrupt or unreadable parts of a volume (a bad MFT record, a broken index block)
 * while a scan or listing goes on with the rest. A sink that rethrows aborts the operation.
 */
@FunctionalInterface
public interface ErrorSink {
    /** Rethrows every error: the first corrupt structure aborts the operation. */
    ErrorSink STRICT = e -> {
        throw e;
    };

    /** Called once per skipped structure; throw to abort. */
    void report(NtfsException error) throws NtfsException;
}
