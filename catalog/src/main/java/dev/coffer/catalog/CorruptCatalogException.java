package dev.coffer.catalog;

/**
 * A catalog file that is not a usable Coffer catalog: not an SQLite database, another application's
 * database, or one that fails SQLite's integrity check. The message names the file.
 */
public class CorruptCatalogException extends CatalogException {
    private static final long serialVersionUID = 1L;

    public CorruptCatalogException(String message) {
        super(message);
    }

    public CorruptCatalogException(String message, Throwable cause) {
        super(message, cause);
    }
}
