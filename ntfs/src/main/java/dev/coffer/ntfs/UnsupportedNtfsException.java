package dev.coffer.ntfs;

/** Thrown when a volume or stream uses a valid NTFS feature this reader does not implement (the message says which). */
public class UnsupportedNtfsException extends NtfsException {
    private static final long serialVersionUID = 1L;

    public UnsupportedNtfsException(String message) {
        super(message);
    }
}
