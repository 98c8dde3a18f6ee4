package dev.coffer.vmdk;

/**
 * A field of a disk image asks for more than Coffer allows (capacity, table sizes, chain depth,
 * descriptor length); the message names the file, the offset, the value and the limit.
 */
public class LimitExceededImageException extends VmdkException {
    private static final long serialVersionUID = 1L;

    public LimitExceededImageException(String message) {
        super(message);
    }
}
