package dev.coffer.dedup;

/** The peer or the store speaks a protocol or format version this code does not. */
public class UnsupportedVersionException extends DedupException {
    private static final long serialVersionUID = 1L;

    /** @param message where, the version found and the versions supported */
    public UnsupportedVersionException(String message) {
        super(message);
    }
}
