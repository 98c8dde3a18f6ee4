package dev.coffer.vmdk;

/**
 * A file that is valid but not something Coffer reads: not a VMDK at all, a raw-device mapping, an
 * unknown extent type or version. The message names the file and what was found.
 */
public class UnsupportedImageException extends VmdkException {
    private static final long serialVersionUID = 1L;

    public UnsupportedImageException(String message) {
        super(message);
    }
}
