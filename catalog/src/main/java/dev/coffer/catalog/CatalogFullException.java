package dev.coffer.catalog;

/**
 * A write failed because the disk (or the configured {@link CatalogOptions#maxSizeBytes()} quota) is full
 * ({@code SQLITE_FULL}). The failed transaction was rolled back; everything committed before it is intact.
 */
public class CatalogFullException extends CatalogException {
    private static final long serialVersionUID = 1L;

    public CatalogFullException(String message, Throwable cause) {
        super(message, cause);
    }
}
