package dev.coffer.catalog;

/** A query named a path, backup or volume the catalog does not hold (or not in the requested state); the message says which. */
public class NoSuchPathException extends CatalogException {
    private static final long serialVersionUID = 1L;

    public NoSuchPathException(String message) {
        super(message);
    }
}
