package dev.coffer.ntfs;

/**
 * Receives the corrupt or unreadable parts of a volume (a bad MFT record, a broken index block)
 * while a scan or listing goes on with the rest. A sink that rethrows aborts the operation.
 */
@FunctionalInterface
public interface ErrorSink {
    /** Rethrows every error: the first corrupt structure aborts the operation. */
    ErrorSink STRICT = new ErrorSink() { // not a lambda: keeps LambdaMetafactory off the startup path
        @Override
        public void report(NtfsException error) throws NtfsException {
            throw error;
        }
    };

    /** Called once per skipped structure; throw to abort. */
    void report(NtfsException error) throws NtfsException;
}
