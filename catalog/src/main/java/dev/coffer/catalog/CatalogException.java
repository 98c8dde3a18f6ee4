package dev.coffer.catalog;

import java.io.IOException;

/**
 * The root of every checked error the {@code catalog} module throws: a catalog that cannot be opened, migrated, written or queried.
 *
 * <p>Subclasses say what kind of failure it is ({@code Corrupt…}, {@code Unsupported…},
 * {@code LimitExceeded…}); every message names the place (file, offset) and what was expected and found.
 */
public class CatalogException extends IOException {
    private static final long serialVersionUID = 1L;

    public CatalogException(String message) {
        super(message);
    }

    public CatalogException(String message, Throwable cause) {
        super(message, cause);
    }
}
