package dev.coffer.ntfs;

/**
 * Thrown (or reported to an {@link ErrorSink}) when on-disk NTFS structures contradict themselves:
 * a bad update sequence, an attribute running past its record, a run past the end of the volume, an
 * index loop. The message names the MFT record number and/or byte offset, what was expected and found.
 */
public class CorruptNtfsException extends NtfsException {
    private static final long serialVersionUID = 1L;

    public CorruptNtfsException(String message) {
        super(message);
    }

    public CorruptNtfsException(String message, Throwable cause) {
        super(message, cause);
    }
}
