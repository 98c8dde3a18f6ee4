package dev.coffer.ntfs;

/** Thrown when a structure is larger or deeper than a named safety limit of this reader (the message names the limit). */
public class LimitExceededNtfsException extends NtfsException {
    private static final long serialVersionUID = 1L;

    public LimitExceededNtfsException(String message) {
        super(message);
    }
}
