package dev.coffer.catalog;

/**
 * A catalog whose schema version is newer than this code knows ({@link Catalog#SCHEMA_VERSION}); it is
 * left untouched so the newer agent that wrote it can still use it. The message names the file and both
 * versions.
 */
public class UnsupportedSchemaException extends CatalogException {
    private static final long serialVersionUID = 1L;

    public UnsupportedSchemaException(String message) {
        super(message);
    }
}
