package dev.coffer.agent.restore;

import dev.coffer.agent.restore.RestoreException.Code;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Percent-encodes NTFS name components for restore-target URLs and decodes them back, losslessly.
 *
 * <p>A component is encoded as its WTF-8 bytes (UTF-8, extended so that an unpaired UTF-16
 * surrogate, which NTFS allows in names, becomes the 3-byte form of its code point); every byte
 * other than the RFC 3986 unreserved characters {@code A-Z a-z 0-9 - . _ ~} becomes {@code %XX}
 * (upper-case hex). Components are joined with {@code /}. See {@code docs/restore-target.md}.
 */
final class PathCodec {
    private PathCodec() {}

    /** Encodes one component (or a stream name). */
    static String encode(String s) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                        || c == '-' || c == '.' || c == '_' || c == '~') {
                    out.append(c);
                } else {
                    pct(out, c);
                }
            } else if (c < 0x800) {
                pct(out, 0xc0 | (c >> 6));
                pct(out, 0x80 | (c & 0x3f));
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(++i));
                pct(out, 0xf0 | (cp >> 18));
                pct(out, 0x80 | ((cp >> 12) & 0x3f));
                pct(out, 0x80 | ((cp >> 6) & 0x3f));
                pct(out, 0x80 | (cp & 0x3f));
            } else {
                pct(out, 0xe0 | (c >> 12));
                pct(out, 0x80 | ((c >> 6) & 0x3f));
                pct(out, 0x80 | (c & 0x3f));
            }
        }
        return out.toString();
    }

    /** Encodes a path: the encoded components joined with {@code /}. */
    static String encodePath(List<String> components) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < components.size(); i++) {
            if (i > 0) {
                out.append('/');
            }
            out.append(encode(components.get(i)));
        }
        return out.toString();
    }

    private static void pct(StringBuilder out, int b) {
        out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
    }

    /** Decodes a path (components separated by {@code /}), bounded by {@link RestoreFile#MAX_DEPTH}. */
    static List<String> decodePath(String raw) throws RestoreException {
        List<String> out = new ArrayList<>();
        int start = 0;
        while (true) {
            if (out.size() >= RestoreFile.MAX_DEPTH) {
                throw new RestoreException(Code.LIMIT_EXCEEDED, "path deeper than " + RestoreFile.MAX_DEPTH + " components");
            }
            int slash = raw.indexOf('/', start);
            out.add(decode(raw.substring(start, slash < 0 ? raw.length() : slash)));
            if (slash < 0) {
                return out;
            }
            start = slash + 1;
        }
    }

    /** Decodes one component; rejects characters that should have been escaped and malformed WTF-8. */
    static String decode(String enc) throws RestoreException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(enc.length());
        for (int i = 0; i < enc.length(); i++) {
            char c = enc.charAt(i);
            if (c == '%') {
                if (i + 2 >= enc.length()) {
                    throw bad(enc, i, "truncated %-escape");
                }
                int hi = Character.digit(enc.charAt(i + 1), 16);
                int lo = Character.digit(enc.charAt(i + 2), 16);
                if (hi < 0 || lo < 0) {
                    throw bad(enc, i, "bad %-escape");
                }
                bytes.write(hi << 4 | lo);
                i += 2;
            } else if (c > 0x20 && c < 0x7f && c != '/' && c != '?' && c != '#') {
                bytes.write(c);
            } else {
                throw bad(enc, i, "unescaped character 0x" + Integer.toHexString(c));
            }
        }
        byte[] b = bytes.toByteArray();
        StringBuilder out = new StringBuilder(b.length);
        for (int i = 0; i < b.length; ) {
            int b0 = b[i] & 0xff;
            int need;
            int cp;
            int min;
            if (b0 < 0x80) {
                out.append((char) b0);
                i++;
                continue;
            } else if (b0 >= 0xc2 && b0 <= 0xdf) {
                need = 1;
                cp = b0 & 0x1f;
                min = 0x80;
            } else if (b0 >= 0xe0 && b0 <= 0xef) {
                need = 2;
                cp = b0 & 0x0f;
                min = 0x800;
            } else if (b0 >= 0xf0 && b0 <= 0xf4) {
                need = 3;
                cp = b0 & 0x07;
                min = 0x10000;
            } else {
                throw bad(enc, i, "invalid WTF-8 lead byte 0x" + Integer.toHexString(b0));
            }
            if (i + need >= b.length) {
                throw bad(enc, i, "truncated WTF-8 sequence");
            }
            for (int k = 1; k <= need; k++) {
                int bk = b[i + k] & 0xff;
                if ((bk & 0xc0) != 0x80) {
                    throw bad(enc, i, "invalid WTF-8 continuation byte 0x" + Integer.toHexString(bk));
                }
                cp = cp << 6 | (bk & 0x3f);
            }
            if (cp < min || cp > Character.MAX_CODE_POINT) {
                throw bad(enc, i, "overlong or out-of-range WTF-8 sequence");
            }
            out.appendCodePoint(cp);
            i += need + 1;
        }
        String s = out.toString();
        if (s.length() > RestoreFile.MAX_COMPONENT_CHARS) {
            throw new RestoreException(Code.LIMIT_EXCEEDED, "name of " + s.length() + " chars exceeds "
                    + RestoreFile.MAX_COMPONENT_CHARS);
        }
        return s;
    }

    private static RestoreException bad(String enc, int at, String what) {
        return new RestoreException(Code.BAD_REQUEST, "path component '" + enc + "' at char " + at + ": " + what);
    }
}
