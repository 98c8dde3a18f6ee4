package dev.coffer.vmdk;

/** A disk image or partition table whose bytes contradict its format: the message names file and offset. */
public class CorruptImageException extends VmdkException {
    private static final long serialVersionUID = 1L;

    public CorruptImageException(String message) {
        super(message);
    }

    public CorruptImageException(String message, Throwable cause) {
        super(message, cause);
    }
}
