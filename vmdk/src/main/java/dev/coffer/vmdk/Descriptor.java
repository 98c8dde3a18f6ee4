package dev.coffer.vmdk;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A parsed VMDK text descriptor, standalone ({@code disk.vmdk} beside its extents) or embedded in a
 * hosted sparse file: the header keys ({@code version}, {@code CID}, {@code parentCID},
 * {@code createType}, {@code parentFileNameHint}), the extent lines and the {@code ddb.*} disk
 * database.
 *
 * <p>Sources: VMware "Virtual Disk Format 5.0" (descriptor file section, extent descriptions,
 * {@code encoding} key), and descriptors written by VMware Workstation, ESXi and qemu-img.
 *
 * <p>Text is split into lines on LF (CRLF tolerated) before decoding, so every error names the byte
 * offset of its line; each line is then decoded with the descriptor's {@code encoding} (UTF-8 when
 * none is given and the bytes are valid UTF-8, else windows-1252, what old Windows hosts wrote).
 */
public final class Descriptor {
    /** The parentCID of a disk that has no parent. */
    public static final long NO_PARENT = 0xffffffffL;

    /** createType values of file-backed disks Coffer reads. */
    static final Set<String> FILE_BACKED = Set.of("monolithicSparse", "monolithicFlat",
            "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "streamOptimized", "vmfs", "vmfsThin",
            "vmfsSparse", "seSparse", "vmfsPreallocated", "vmfsEagerZeroedThick", "custom");
    /** createType values that name a device, not a file: refused with "not a file-backed disk". */
    static final Set<String> RAW_DEVICE = Set.of("vmfsRaw", "vmfsRawDeviceMap",
            "vmfsPassthroughRawDeviceMap", "fullDevice", "partitionedDevice");
    /** Longest value kept for one key (VMware writes < 1 KiB; file names are capped at 4 KiB here). */
    private static final int MAX_LINE_CHARS = 8192;

    private final Path file;
    private final long fileOffset;
    private final String encoding;
    private final Map<String, String> entries;
    private final List<ExtentDescriptor> extents;

    private Descriptor(Path file, long fileOffset, String encoding, Map<String, String> entries,
            List<ExtentDescriptor> extents) {
        this.file = file;
        this.fileOffset = fileOffset;
        this.encoding = encoding;
        this.entries = Collections.unmodifiableMap(entries);
        this.extents = List.copyOf(extents);
    }

    /**
     * Parses descriptor text. {@code bytes} ends at the first NUL (embedded descriptors are padded);
     * {@code fileOffset} is where the text starts in {@code file}, for error messages.
     *
     * @throws UnsupportedImageException if the text is not a descriptor ("not a VMDK"), names a raw
     *     device, or an unknown createType/extent type/encoding
     * @throws CorruptImageException for a malformed line
     */
    public static Descriptor parse(byte[] bytes, Path file, long fileOffset) throws VmdkException {
        int len = 0;
        while (len < bytes.length && bytes[len] != 0) {
            len++;
        }
        if (len > Limits.MAX_DESCRIPTOR_BYTES) {
            throw new LimitExceededImageException(file + " at 0x" + Long.toHexString(fileOffset)
                    + ": descriptor of " + len + " bytes, limit " + Limits.MAX_DESCRIPTOR_BYTES);
        }
        // Lines as byte ranges; LF is never a trail byte in the legacy multi-byte charsets VMware used.
        List<int[]> lines = new ArrayList<>();
        for (int start = 0; start < len; ) {
            int end = start;
            while (end < len && bytes[end] != '\n') {
                end++;
            }
            int stop = end > start && bytes[end - 1] == '\r' ? end - 1 : end;
            lines.add(new int[] {start, stop});
            start = end + 1;
        }
        Charset charset = charsetOf(bytes, lines, file, fileOffset);
        var decoder = charset.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);

        Map<String, String> entries = new LinkedHashMap<>();
        List<ExtentDescriptor> extents = new ArrayList<>();
        boolean sawKey = false;
        for (int[] l : lines) {
            long at = fileOffset + l[0];
            String line;
            try {
                line = decoder.decode(ByteBuffer.wrap(bytes, l[0], l[1] - l[0])).toString().strip();
            } catch (CharacterCodingException e) {
                throw new CorruptImageException(where(file, at) + ": descriptor line is not valid "
                        + charset.name());
            }
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.length() > MAX_LINE_CHARS) {
                throw new LimitExceededImageException(where(file, at) + ": descriptor line of "
                        + line.length() + " characters, limit " + MAX_LINE_CHARS);
            }
            if (isExtentLine(line)) {
                if (!sawKey) {
                    throw notVmdk(file, at);
                }
                if (extents.size() >= Limits.MAX_EXTENTS) {
                    throw new LimitExceededImageException(where(file, at) + ": more than "
                            + Limits.MAX_EXTENTS + " extents");
                }
                extents.add(parseExtent(line, file, at));
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                if (!sawKey) {
                    throw notVmdk(file, at);
                }
                throw new CorruptImageException(where(file, at) + ": descriptor line is neither"
                        + " key=value nor an extent: \"" + printable(line) + "\"");
            }
            String key = line.substring(0, eq).strip();
            if (!key.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '"')) {
                if (!sawKey) {
                    throw notVmdk(file, at);
                }
                throw new CorruptImageException(where(file, at) + ": bad descriptor key \""
                        + printable(key) + "\"");
            }
            String value = line.substring(eq + 1).strip();
            if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                value = value.substring(1, value.length() - 1);
            }
            sawKey = true;
            entries.put(key, value);
        }
        if (!entries.containsKey("createType")) {
            if (!sawKey) {
                throw notVmdk(file, fileOffset);
            }
            throw new CorruptImageException(where(file, fileOffset) + ": descriptor has no createType");
        }
        Descriptor d = new Descriptor(file, fileOffset, charset.name(), entries, extents);
        d.validate();
        return d;
    }

    private void validate() throws VmdkException {
        String ct = createType();
        if (RAW_DEVICE.contains(ct)) {
            throw new UnsupportedImageException(file + ": createType \"" + ct
                    + "\" maps a raw device, not a file-backed disk");
        }
        if (!FILE_BACKED.contains(ct)) {
            throw new UnsupportedImageException(where(file, fileOffset) + ": unknown createType \""
                    + printable(ct) + "\"");
        }
        parseCid("CID");
        parseCid("parentCID");
        long total = 0;
        for (ExtentDescriptor e : extents) {
            if (e.type().rawDevice()) {
                throw new UnsupportedImageException(where(file, e.lineOffset()) + ": extent type "
                        + e.type() + " maps a raw device, not a file-backed disk");
            }
            total = Math.addExact(total, e.sizeSectors());
            if (total > Limits.MAX_CAPACITY / Limits.SECTOR) {
                throw new LimitExceededImageException(where(file, e.lineOffset())
                        + ": extents add up to more than " + (Limits.MAX_CAPACITY >> 40) + " TiB");
            }
        }
    }

    private static boolean isExtentLine(String line) {
        for (String a : new String[] {"RW", "RDONLY", "NOACCESS"}) {
            if (line.startsWith(a) && line.length() > a.length()
                    && Character.isWhitespace(line.charAt(a.length()))) {
                String rest = line.substring(a.length()).stripLeading();
                return !rest.isEmpty() && Character.isDigit(rest.charAt(0));
            }
        }
        return false;
    }

    private static ExtentDescriptor parseExtent(String line, Path file, long at) throws VmdkException {
        int i = 0;
        int n = line.length();
        int s = i;
        while (i < n && !Character.isWhitespace(line.charAt(i))) {
            i++;
        }
        String access = line.substring(s, i);
        i = skipSpace(line, i);
        s = i;
        while (i < n && Character.isDigit(line.charAt(i))) {
            i++;
        }
        long sectors = number(line.substring(s, i), file, at, "extent size");
        if (sectors <= 0 || sectors > Limits.MAX_CAPACITY / Limits.SECTOR) {
            throw new LimitExceededImageException(where(file, at) + ": extent size " + sectors
                    + " sectors, expected 1.." + Limits.MAX_CAPACITY / Limits.SECTOR);
        }
        i = skipSpace(line, i);
        s = i;
        while (i < n && !Character.isWhitespace(line.charAt(i))) {
            i++;
        }
        String typeName = line.substring(s, i);
        ExtentType type;
        try {
            type = ExtentType.valueOf(typeName.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UnsupportedImageException(where(file, at) + ": unknown extent type \""
                    + printable(typeName) + "\"");
        }
        i = skipSpace(line, i);
        String name = null;
        long offset = 0;
        if (i < n) {
            if (line.charAt(i) != '"') {
                throw new CorruptImageException(where(file, at) + ": extent file name must be quoted: \""
                        + printable(line) + "\"");
            }
            int close = line.indexOf('"', i + 1);
            if (close < 0) {
                throw new CorruptImageException(where(file, at) + ": unterminated extent file name");
            }
            name = line.substring(i + 1, close);
            i = skipSpace(line, close + 1);
            if (i < n) {
                s = i;
                while (i < n && Character.isDigit(line.charAt(i))) {
                    i++;
                }
                offset = number(line.substring(s, i), file, at, "extent offset");
                if (skipSpace(line, i) != n) {
                    throw new CorruptImageException(where(file, at) + ": trailing text after extent: \""
                            + printable(line) + "\"");
                }
            }
        }
        if (type == ExtentType.ZERO) {
            if (name != null) {
                throw new CorruptImageException(where(file, at) + ": ZERO extent names a file");
            }
        } else if (name == null || name.isEmpty()) {
            throw new CorruptImageException(where(file, at) + ": " + type + " extent without a file name");
        }
        if (type != ExtentType.FLAT && offset != 0) {
            throw new CorruptImageException(where(file, at) + ": only FLAT extents take an offset, "
                    + type + " has " + offset);
        }
        if (offset > Limits.MAX_CAPACITY / Limits.SECTOR) {
            throw new LimitExceededImageException(where(file, at) + ": extent offset " + offset
                    + " sectors is beyond " + (Limits.MAX_CAPACITY >> 40) + " TiB");
        }
        if (!access.equals("RW") && !access.equals("RDONLY") && !access.equals("NOACCESS")) {
            throw new CorruptImageException(where(file, at) + ": bad extent access " + printable(access));
        }
        return new ExtentDescriptor(access, sectors, type, name, offset, at);
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    private static long number(String digits, Path file, long at, String what) throws VmdkException {
        if (digits.isEmpty() || digits.length() > 18) {
            throw new CorruptImageException(where(file, at) + ": bad " + what + " \"" + digits + "\"");
        }
        return Long.parseLong(digits);
    }

    private static Charset charsetOf(byte[] bytes, List<int[]> lines, Path file, long fileOffset)
            throws VmdkException {
        for (int[] l : lines) {
            String line = new String(bytes, l[0], l[1] - l[0], StandardCharsets.ISO_8859_1).strip();
            if (line.startsWith("encoding") && line.indexOf('=') > 0
                    && line.substring(0, line.indexOf('=')).strip().equals("encoding")) {
                String name = line.substring(line.indexOf('=') + 1).strip().replace("\"", "");
                try {
                    return Charset.forName(name);
                } catch (IllegalArgumentException e) {
                    throw new UnsupportedImageException(where(file, fileOffset + l[0])
                            + ": unsupported descriptor encoding \"" + printable(name) + "\"");
                }
            }
        }
        try {
            StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes, 0, lines.isEmpty() ? 0
                    : lines.get(lines.size() - 1)[1]));
            return StandardCharsets.UTF_8;
        } catch (CharacterCodingException e) {
            return Charset.forName("windows-1252");
        }
    }

    private static VmdkException notVmdk(Path file, long at) {
        return new UnsupportedImageException(file + ": not a VMDK (no sparse header magic and no"
                + " descriptor text at 0x" + Long.toHexString(at) + ")");
    }

    static String where(Path file, long at) {
        return file + " at 0x" + Long.toHexString(at);
    }

    /** Shortens and escapes untrusted text before it goes into an error message. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 80; i++) {
            char c = s.charAt(i);
            b.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return s.length() > 80 ? b + "..." : b.toString();
    }

    private long parseCid(String key) throws VmdkException {
        String v = entries.get(key);
        if (v == null) {
            return key.equals("parentCID") ? NO_PARENT : 0;
        }
        if (v.isEmpty() || v.length() > 8 || !v.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new CorruptImageException(where(file, fileOffset) + ": " + key
                    + " must be 1-8 hex digits, found \"" + printable(v) + "\"");
        }
        return Long.parseLong(v, 16);
    }

    /** The file holding this descriptor. */
    public Path file() {
        return file;
    }

    /** Byte offset of the descriptor inside {@link #file()} (0 for a standalone descriptor). */
    public long fileOffset() {
        return fileOffset;
    }

    /** The charset the text was decoded with. */
    public String encoding() {
        return encoding;
    }

    /** The {@code createType} value, for example {@code monolithicSparse} or {@code vmfs}. */
    public String createType() {
        return entries.get("createType");
    }

    /** The content ID, a 32-bit value that changes when the disk is written. */
    public long cid() {
        try {
            return parseCid("CID");
        } catch (VmdkException e) {
            throw new IllegalStateException(e); // validated in parse
        }
    }

    /** The parent's CID this delta was made against, or {@link #NO_PARENT}. */
    public long parentCid() {
        try {
            return parseCid("parentCID");
        } catch (VmdkException e) {
            throw new IllegalStateException(e); // validated in parse
        }
    }

    /** The parent disk's file name as the descriptor gives it, if this disk is a delta. */
    public Optional<String> parentFileNameHint() {
        return Optional.ofNullable(entries.get("parentFileNameHint")).filter(s -> !s.isEmpty());
    }

    /** The extent lines in order. */
    public List<ExtentDescriptor> extents() {
        return extents;
    }

    /** The {@code ddb.*} disk-database entries in file order, keys as written (with the prefix). */
    public Map<String, String> ddb() {
        Map<String, String> d = new LinkedHashMap<>();
        entries.forEach((k, v) -> {
            if (k.startsWith("ddb.")) {
                d.put(k, v);
            }
        });
        return Collections.unmodifiableMap(d);
    }

    /** Every key=value entry in file order, quotes removed. */
    public Map<String, String> entries() {
        return entries;
    }
}
