package dev.coffer.agent.restore;

import dev.coffer.agent.restore.NameMapping.Reason;
import dev.coffer.agent.restore.RestoreException.Code;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Maps NTFS names (hostile until proven otherwise) to names that are safe on the restore target,
 * reporting every change, and resolves mapped paths inside a restore root without ever following a
 * symlink out of it.
 *
 * <p>A component is safe when it is non-empty, not {@code .} or {@code ..}, holds no separator
 * ({@code /}, {@code \}), NUL, control character, Windows-reserved character ({@code <>:"|?*}) or
 * unpaired surrogate, does not end in a dot or space, is not a Windows device name (with any
 * extension), and is at most {@value #MAX_NAME_BYTES} bytes of UTF-8. Offending characters become
 * {@code _}; device names get a {@code _} prefix; long names are cut and get {@code ~} plus 12 hex
 * digits of the SHA-256 of the original name, keeping a short extension.
 *
 * <p>One instance serves one restore root and remembers which original name owns each mapped name
 * in each directory, so two names that differ only by case on a case-insensitive target (or two
 * names that map to the same safe name) get distinct names ({@code a~2.txt}). Thread-safe.
 */
public final class SafeNames {
    /** Longest name in bytes: Linux NAME_MAX (ext4, xfs, btrfs) and, in UTF-16 units, NTFS's limit too. */
    public static final int MAX_NAME_BYTES = 255;
    /** How many names one restore remembers for collision checks: ~100 bytes each, so ~400 MiB at worst. */
    public static final int MAX_REMEMBERED_NAMES = 4_000_000;
    /** How many {@code ~N} suffixes are tried for one colliding name before giving up. */
    static final int MAX_DISAMBIGUATIONS = 10_000;
    /** The restore's own work directory at the top of the root; a restored top-level name equal to it is renamed. */
    static final String WORK_DIR = ".coffer-restore";
    /** Extensions kept when a long name is shortened are at most this many bytes (with the dot). */
    private static final int MAX_KEPT_EXTENSION_BYTES = 32;
    private static final String WINDOWS_RESERVED_CHARS = "<>:\"|?*";
    private static final Set<String> DEVICE_NAMES = deviceNames();

    private final boolean caseInsensitive;
    private final Object lock = new Object();
    /** "mapped parent path \0 folded mapped name" -> original key that owns it. @GuardedBy("lock") */
    private final Map<String, String> owners = new HashMap<>();

    /** A mapper for a target whose file names are case-insensitive or not. */
    public SafeNames(boolean caseInsensitive) {
        this.caseInsensitive = caseInsensitive;
    }

    /** Whether this mapper treats names that differ only by case as the same name. */
    public boolean caseInsensitive() {
        return caseInsensitive;
    }

    /** The result of mapping a path: the safe components and the mappings made (empty when none). */
    public record MappedPath(List<String> components, List<NameMapping> mappings) {
        /** Copies the lists. */
        public MappedPath {
            components = List.copyOf(components);
            mappings = List.copyOf(mappings);
        }

        /** The components joined with {@code /}. */
        public String joined() {
            return String.join("/", components);
        }
    }

    /**
     * Maps an NTFS path (and optionally an alternate data stream, which becomes a file
     * {@code name~stream.ads} beside its file) to safe components, disambiguating collisions.
     *
     * @throws RestoreException {@code LIMIT_EXCEEDED} when too many names were seen or a name cannot be disambiguated
     */
    public MappedPath map(List<String> path, String stream) throws RestoreException {
        List<String> out = new ArrayList<>(path.size());
        List<NameMapping> mappings = new ArrayList<>();
        StringBuilder parentKey = new StringBuilder();
        for (int i = 0; i < path.size(); i++) {
            String original = path.get(i);
            boolean last = i == path.size() - 1;
            EnumSet<Reason> reasons = EnumSet.noneOf(Reason.class);
            String mapped;
            String originalKey;
            String shown;
            if (last && stream != null) {
                reasons.add(Reason.ALTERNATE_STREAM);
                mapped = safeComponent(original + "~" + stream + ".ads", reasons);
                originalKey = original.length() + ":" + original + ":" + stream;
                shown = original + ":" + stream;
            } else {
                mapped = safeComponent(original, reasons);
                originalKey = original;
                shown = original;
            }
            if (i == 0 && fold(mapped).equals(fold(WORK_DIR))) {
                reasons.add(Reason.RESERVED_NAME);
                mapped = "_" + mapped;
            }
            String claimed = claim(parentKey.toString(), mapped, originalKey);
            if (!claimed.equals(mapped)) {
                reasons.add(Reason.COLLISION);
                mapped = claimed;
            }
            if (!reasons.isEmpty()) {
                mappings.add(new NameMapping(shown, mapped, reasons));
            }
            out.add(mapped);
            parentKey.append(mapped).append('\0');
        }
        return new MappedPath(out, mappings);
    }

    /** Claims {@code mapped} in the directory for {@code originalKey}, or the first free {@code ~N} variant. */
    private String claim(String parentKey, String mapped, String originalKey) throws RestoreException {
        synchronized (lock) {
            for (int n = 1; n <= MAX_DISAMBIGUATIONS; n++) {
                String candidate = n == 1 ? mapped : withSuffix(mapped, "~" + n);
                String key = parentKey + fold(candidate);
                String owner = owners.get(key);
                if (owner == null) {
                    if (owners.size() >= MAX_REMEMBERED_NAMES) {
                        throw new RestoreException(Code.LIMIT_EXCEEDED, "restore of more than "
                                + MAX_REMEMBERED_NAMES + " names: cannot track more for collision checks");
                    }
                    owners.put(key, originalKey);
                    return candidate;
                }
                if (owner.equals(originalKey)) {
                    return candidate;
                }
            }
        }
        throw new RestoreException(Code.LIMIT_EXCEEDED, "name " + mapped + " collides with "
                + MAX_DISAMBIGUATIONS + " other names in its directory");
    }

    private String fold(String name) {
        return caseInsensitive ? name.toUpperCase(Locale.ROOT).toLowerCase(Locale.ROOT) : name;
    }

    /**
     * Maps one name component to a safe one, adding the reasons for every change to {@code reasons}
     * (left unchanged when the name was already safe). Pure; does not detect collisions.
     */
    public static String safeComponent(String name, Set<Reason> reasons) {
        if (name.isEmpty()) {
            reasons.add(Reason.EMPTY);
            return "_";
        }
        if (name.equals(".") || name.equals("..")) {
            reasons.add(Reason.DOT_NAME);
            return name.equals(".") ? "_" : "__";
        }
        StringBuilder sb = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < name.length() && Character.isLowSurrogate(name.charAt(i + 1))) {
                sb.append(c).append(name.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                reasons.add(Reason.INVALID_UNICODE);
                sb.append('_');
            } else if (c == 0) {
                reasons.add(Reason.NUL);
                sb.append('_');
            } else if (c < 0x20 || c == 0x7f) {
                reasons.add(Reason.CONTROL);
                sb.append('_');
            } else if (c == '/' || c == '\\') {
                reasons.add(Reason.SEPARATOR);
                sb.append('_');
            } else if (WINDOWS_RESERVED_CHARS.indexOf(c) >= 0) {
                reasons.add(Reason.RESERVED_CHARACTER);
                sb.append('_');
            } else {
                sb.append(c);
            }
        }
        int end = sb.length();
        while (end > 0 && (sb.charAt(end - 1) == '.' || sb.charAt(end - 1) == ' ')) {
            end--;
        }
        if (end < sb.length()) {
            reasons.add(Reason.TRAILING_DOT_SPACE);
            for (int j = end; j < sb.length(); j++) {
                sb.setCharAt(j, '_');
            }
        }
        if (isDeviceName(sb)) {
            reasons.add(Reason.RESERVED_DEVICE);
            sb.insert(0, '_');
        }
        String s = sb.toString();
        if (utf8Length(s) > MAX_NAME_BYTES) {
            reasons.add(Reason.TOO_LONG);
            s = shorten(s, "~" + hashHex(name));
        }
        return s;
    }

    /** Whether the name's stem (before the first dot, trailing spaces ignored) is a Windows device name. */
    private static boolean isDeviceName(CharSequence name) {
        int dot = 0;
        while (dot < name.length() && name.charAt(dot) != '.') {
            dot++;
        }
        int end = dot;
        while (end > 0 && name.charAt(end - 1) == ' ') {
            end--;
        }
        if (end < 3 || end > 7) {
            return false;
        }
        return DEVICE_NAMES.contains(name.subSequence(0, end).toString().toUpperCase(Locale.ROOT));
    }

    private static Set<String> deviceNames() {
        List<String> names = new ArrayList<>(List.of("CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"));
        // COM0/LPT0 and the superscript digits are reserved too on current Windows.
        for (String digit : List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00b9", "\u00b2", "\u00b3")) {
            names.add("COM" + digit);
            names.add("LPT" + digit);
        }
        return Set.copyOf(names);
    }

    /** {@code name} with {@code suffix} inserted before its extension, shortened to fit {@link #MAX_NAME_BYTES}. */
    static String withSuffix(String name, String suffix) {
        String candidate = insertBeforeExtension(name, suffix);
        return utf8Length(candidate) <= MAX_NAME_BYTES ? candidate : shorten(name, suffix);
    }

    private static String insertBeforeExtension(String name, String suffix) {
        int dot = extensionStart(name);
        return dot < 0 ? name + suffix : name.substring(0, dot) + suffix + name.substring(dot);
    }

    /** Index of a short extension's dot worth keeping, or -1. */
    private static int extensionStart(String name) {
        int dot = name.lastIndexOf('.');
        if (dot <= 0 || utf8Length(name.substring(dot)) > MAX_KEPT_EXTENSION_BYTES) {
            return -1;
        }
        return dot;
    }

    /** Cuts the stem of {@code name} (at a code point boundary) so that stem + suffix + extension fits. */
    private static String shorten(String name, String suffix) {
        int dot = extensionStart(name);
        String ext = dot < 0 ? "" : name.substring(dot);
        String stem = dot < 0 ? name : name.substring(0, dot);
        int budget = MAX_NAME_BYTES - utf8Length(suffix) - utf8Length(ext);
        StringBuilder out = new StringBuilder();
        int used = 0;
        for (int i = 0; i < stem.length(); ) {
            int cp = stem.codePointAt(i);
            int n = utf8Length(new String(Character.toChars(cp)));
            if (used + n > budget) {
                break;
            }
            out.appendCodePoint(cp);
            used += n;
            i += Character.charCount(cp);
        }
        return out + suffix + ext;
    }

    /** Bytes of the UTF-8 form of a string without unpaired surrogates. */
    static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    private static String hashHex(String name) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] d = md.digest(name.getBytes(StandardCharsets.UTF_16LE));
            return HexFormat.of().formatHex(d, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is a required JDK algorithm", e);
        }
    }

    /**
     * Probes whether file names in {@code dir} are case-insensitive, by creating a file with a
     * mixed-case name and looking it up with the case swapped.
     */
    public static boolean probeCaseInsensitive(Path dir) throws IOException {
        String base = "coffer-case-probe-" + Long.toHexString(System.nanoTime()) + "-";
        Path probe = dir.resolve(base + "aB");
        Files.createFile(probe);
        try {
            return Files.exists(dir.resolve(base + "Ab"), LinkOption.NOFOLLOW_LINKS);
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    /**
     * Resolves safe components under {@code root} (a real path) so that the result is inside the
     * root: every component is re-checked, every existing parent must be a real directory (a
     * symlink is refused, never followed), and missing parents are created when asked.
     *
     * @return the path of the last component (which may not exist, or may be a symlink itself: it
     *     is only ever renamed over, never written through)
     * @throws RestoreException {@code UNSAFE_PATH} for a bad component or a symlinked parent,
     *     {@code CONFLICT} when a parent exists and is not a directory
     */
    public static Path resolveInside(Path root, List<String> components, boolean createParents) throws RestoreException {
        if (components.isEmpty()) {
            throw new RestoreException(Code.UNSAFE_PATH, "empty path under " + root);
        }
        Path p = root;
        for (int i = 0; i < components.size(); i++) {
            String c = components.get(i);
            checkComponent(root, c);
            p = p.resolve(c);
            if (!p.normalize().startsWith(root) || p.getNameCount() != root.getNameCount() + i + 1) {
                throw new RestoreException(Code.UNSAFE_PATH, "path " + p + " leaves root " + root);
            }
            if (i == components.size() - 1) {
                break;
            }
            ensureDirectory(root, p, createParents);
        }
        return p;
    }

    private static void checkComponent(Path root, String c) throws RestoreException {
        if (c.isEmpty() || c.equals(".") || c.equals("..") || c.indexOf('/') >= 0 || c.indexOf('\\') >= 0
                || c.indexOf('\0') >= 0 || utf8Length(c) > MAX_NAME_BYTES) {
            throw new RestoreException(Code.UNSAFE_PATH, "unsafe name component '" + c.replace('\0', '?') + "' under " + root);
        }
        Path asPath;
        try {
            asPath = root.getFileSystem().getPath(c);
        } catch (RuntimeException e) {
            throw new RestoreException(Code.UNSAFE_PATH, "name component '" + c + "' is not a valid name under " + root, e);
        }
        if (asPath.isAbsolute() || asPath.getNameCount() != 1 || !asPath.toString().equals(c)) {
            throw new RestoreException(Code.UNSAFE_PATH, "name component '" + c + "' is not a single name under " + root);
        }
    }

    private static void ensureDirectory(Path root, Path dir, boolean create) throws RestoreException {
        // Two attempts: a concurrent restore may create the same directory between our look and our mkdir.
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                BasicFileAttributes a = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isSymbolicLink()) {
                    throw new RestoreException(Code.UNSAFE_PATH, "directory " + dir + " under root " + root
                            + " is a symbolic link; refusing to follow it");
                }
                if (!a.isDirectory()) {
                    throw new RestoreException(Code.CONFLICT, "expected a directory at " + dir + ", found a file");
                }
                return;
            } catch (NoSuchFileException e) {
                if (!create) {
                    return;
                }
                try {
                    Files.createDirectory(dir);
                    return;
                } catch (FileAlreadyExistsException raced) {
                    continue;
                } catch (IOException io) {
                    throw new RestoreException(Code.IO_ERROR, "cannot create directory " + dir + ": " + io, io);
                }
            } catch (RestoreException e) {
                throw e;
            } catch (IOException e) {
                throw new RestoreException(Code.IO_ERROR, "cannot inspect " + dir + ": " + e, e);
            }
        }
        throw new RestoreException(Code.IO_ERROR, "directory " + dir + " keeps changing under the restore");
    }
}
