package dev.coffer.catalog;

/**
 * An input exceeds a documented catalog limit (path length, block-list length, page size), or a stored
 * blob claims more than its bytes hold. The message names the limit, the value and the place.
 */
public class LimitExceededCatalogException extends CatalogException {
    private static final long serialVersionUID = 1L;

    public LimitExceededCatalogException(String message) {
        super(message);
    }
}
