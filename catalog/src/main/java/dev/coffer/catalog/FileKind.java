package dev.coffer.catalog;

/** What a catalogued path is; stored as its {@link #code()} in {@code version.kind}. */
public enum FileKind {
    FILE(0), DIRECTORY(1), SYMLINK(2);

    private final int code;

    FileKind(int code) {
        this.code = code;
    }

    /** The integer stored in the catalog. */
    public int code() {
        return code;
    }

    static FileKind ofCode(int code) {
        switch (code) {
            case 0: return FILE;
            case 1: return DIRECTORY;
            case 2: return SYMLINK;
            default: throw new IllegalArgumentException("file kind code " + code);
        }
    }
}
