package dev.coffer.catalog;

/**
 * Splits and validates volume paths. A path starts with '/', uses '/' between components, has no empty,
 * "." or ".." component, no NUL and no trailing '/' (except the root "/"). The root is stored in the
 * pseudo-directory "" with the name "".
 */
final class Paths2 {
    /** Longest path accepted, in UTF-16 units: NTFS's own limit for a full path (32,767). */
    static final int MAX_PATH_CHARS = 32_767;
    /** Longest component accepted: NTFS names are at most 255 UTF-16 units. */
    static final int MAX_NAME_CHARS = 255;

    private Paths2() {}

    /** Returns {dirPath, name} for a valid path, or throws IllegalArgumentException naming the problem. */
    static String[] split(String path) {
        check(path);
        if (path.equals("/")) {
            return new String[] {"", ""};
        }
        int slash = path.lastIndexOf('/');
        String dir = slash == 0 ? "/" : path.substring(0, slash);
        return new String[] {dir, path.substring(slash + 1)};
    }

    static void check(String path) {
        if (path == null || path.isEmpty() || path.charAt(0) != '/') {
            throw new IllegalArgumentException("path must start with '/': " + path);
        }
        if (path.length() > MAX_PATH_CHARS) {
            throw new IllegalArgumentException("path of " + path.length() + " chars exceeds " + MAX_PATH_CHARS);
        }
        if (path.equals("/")) {
            return;
        }
        int start = 1;
        while (true) {
            int end = path.indexOf('/', start);
            String c = end < 0 ? path.substring(start) : path.substring(start, end);
            if (c.isEmpty() || c.equals(".") || c.equals("..") || c.indexOf('\0') >= 0 || c.length() > MAX_NAME_CHARS) {
                throw new IllegalArgumentException("bad path component '" + c + "' in " + path);
            }
            if (end < 0) {
                return;
            }
            start = end + 1;
        }
    }

    /** The full path of a name in a directory (inverse of {@link #split}). */
    static String join(String dir, String name) {
        if (dir.isEmpty()) {
            return "/";
        }
        return dir.equals("/") ? "/" + name : dir + "/" + name;
    }
}
