package dev.coffer.agent.discovery;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A VMware key/value configuration file ({@code .vmx}, {@code .vmsd}): {@code key = "value"} lines.
 *
 * <p>Keys are case-insensitive (VMware treats them so) and are kept lowercased; values are unquoted
 * and VMware's {@code |XX} hex escapes (for example {@code |22} for a double quote) are decoded. The
 * {@code .encoding} key selects the charset of the file; UTF-8 when absent.
 */
public final class VmxFile {
    /** VMware writes a few KB; anything past this is not a configuration file (guards memory). */
    static final long MAX_BYTES = 4L << 20;

    private final Path path;
    private final Map<String, String> entries;

    private VmxFile(Path path, Map<String, String> entries) {
        this.path = path;
        this.entries = Collections.unmodifiableMap(entries);
    }

    /** Reads and parses {@code path}; lines that are not {@code key = value} are an error naming the line. */
    public static VmxFile read(Path path) throws IOException {
        long size = Files.size(path);
        if (size > MAX_BYTES) {
            throw new DiscoveryException(path + ": " + size + " bytes is not a VMware configuration file (max "
                    + MAX_BYTES + ")");
        }
        byte[] raw = Files.readAllBytes(path);
        Charset cs = StandardCharsets.UTF_8;
        String probe = new String(raw, StandardCharsets.ISO_8859_1);
        String declared = parse(path, probe).get(".encoding");
        if (declared != null) {
            try {
                cs = Charset.forName(declared);
            } catch (IllegalArgumentException e) {
                throw new DiscoveryException(path + ": unknown .encoding \"" + declared + "\"");
            }
        }
        return new VmxFile(path, parse(path, new String(raw, cs)));
    }

    /** Parses text already decoded; {@code path} is only used in error messages. */
    public static VmxFile parse(String text, Path path) throws DiscoveryException {
        return new VmxFile(path, parse(path, text));
    }

    private static Map<String, String> parse(Path path, String text) throws DiscoveryException {
        Map<String, String> map = new LinkedHashMap<>();
        int lineNo = 0;
        for (String line : text.split("\r?\n", -1)) {
            lineNo++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            int eq = t.indexOf('=');
            if (eq <= 0) {
                throw new DiscoveryException(path + ":" + lineNo + ": expected key = \"value\", found \""
                        + abbreviate(t) + "\"");
            }
            String key = t.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            String value = t.substring(eq + 1).strip();
            if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                value = value.substring(1, value.length() - 1);
            }
            map.put(key, unescape(value));
        }
        return map;
    }

    /** Decodes VMware's {@code |XX} escapes; a malformed escape is kept as written. */
    static String unescape(String v) {
        if (v.indexOf('|') < 0) {
            return v;
        }
        StringBuilder sb = new StringBuilder(v.length());
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '|' && isHex(v, i + 1) && isHex(v, i + 2)) {
                sb.append((char) Integer.parseInt(v.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static boolean isHex(String s, int i) {
        return i < s.length() && Character.digit(s.charAt(i), 16) >= 0;
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    /** The file this was read from. */
    public Path path() {
        return path;
    }

    /** The value of {@code key} (case-insensitive), unquoted and unescaped. */
    public Optional<String> get(String key) {
        return Optional.ofNullable(entries.get(key.toLowerCase(Locale.ROOT)));
    }

    /** Whether {@code key} is {@code TRUE} (case-insensitive); {@code dflt} when absent. */
    public boolean flag(String key, boolean dflt) {
        return get(key).map(v -> v.equalsIgnoreCase("true")).orElse(dflt);
    }

    /** Every entry, keys lowercased, in file order. */
    public Map<String, String> entries() {
        return entries;
    }
}
