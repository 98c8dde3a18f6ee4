package dev.coffer.ntfs;

/**
 * A place on the volume for error messages ("MFT record 42 at 0x3f000 attribute 0x80 at +0x98"),
 * formatted only when a message is built. The MFT scan decodes ~100k attributes per second; building
 * their location strings eagerly cost more than parsing them.
 */
final class Where {
    private final Object parent;
    private final Object[] parts;

    private Where(Object parent, Object[] parts) {
        this.parent = parent;
        this.parts = parts;
    }

    /** "MFT record N at 0xOFFSET" (the offset left out when negative). */
    static Where record(long number, long at) {
        return new Where(null, new Object[] {"MFT record ", number, at >= 0 ? new Hex(at) : ""});
    }

    /** " at 0x..." formatted late. */
    private record Hex(long at) {
        @Override
        public String toString() {
            return " at " + Checks.hex(at);
        }
    }

    /** {@code parent} followed by {@code parts}, concatenated. */
    static Where of(Object parent, Object... parts) {
        return new Where(parent, parts);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        if (parent != null) {
            sb.append(parent);
        }
        for (Object p : parts) {
            sb.append(p);
        }
        return sb.toString();
    }
}
