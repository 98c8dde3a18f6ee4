package dev.coffer.agent.load;

import java.util.ArrayList;
import java.util.List;

/**
 * One line of {@code /proc/self/mountinfo}: a mount, its device number and filesystem type.
 *
 * <p>Source: {@code proc(5)}, section {@code /proc/pid/mountinfo}:
 * {@code 36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue}.
 * Paths escape space, tab, newline and backslash as three-digit octal ({@code \040}).
 *
 * @param mountId unique id of the mount
 * @param parentId id of the parent mount
 * @param major device major number ({@code 0} for filesystems without a block device)
 * @param minor device minor number
 * @param root the directory of the filesystem that forms the root of this mount
 * @param mountPoint where it is mounted, unescaped
 * @param fsType filesystem type ({@code ext4}, {@code xfs}, {@code tmpfs}, {@code overlay})
 * @param source the mount source ({@code /dev/vda}, {@code tmpfs}, ...), unescaped
 */
public record MountInfo(int mountId, int parentId, int major, int minor, String root,
        String mountPoint, String fsType, String source) {

    /** Mounts accepted from one file: container hosts have thousands, never a million. */
    static final int MAX_LINES = 1 << 20;

    /**
     * Parses the whole text of a mountinfo file.
     *
     * @param text the file's content
     * @param source the file name for messages
     * @throws LoadProbeException when a line is malformed
     */
    public static List<MountInfo> parseAll(String text, String source) throws LoadProbeException {
        String[] lines = text.split("\n");
        if (lines.length > MAX_LINES) {
            throw new LoadProbeException(source + ": " + lines.length + " lines, expected at most "
                    + MAX_LINES);
        }
        List<MountInfo> out = new ArrayList<>(lines.length);
        for (int i = 0; i < lines.length; i++) {
            if (!lines[i].isBlank()) {
                out.add(parse(lines[i], source, i + 1));
            }
        }
        return out;
    }

    /**
     * Parses one mountinfo line.
     *
     * @throws LoadProbeException when the line has too few fields, no {@code -} separator or a bad number
     */
    public static MountInfo parse(String line, String source, int lineNo) throws LoadProbeException {
        String[] f = line.strip().split(" ");
        int sep = -1;
        for (int i = 6; i < f.length; i++) {
            if (f[i].equals("-")) {
                sep = i;
                break;
            }
        }
        if (f.length < 6 || sep < 0 || f.length < sep + 3) {
            throw new LoadProbeException(source + " line " + lineNo
                    + ": expected 'id parent major:minor root mountpoint options ... - fstype source',"
                    + " found '" + DiskStats.abbreviate(line) + "'");
        }
        int colon = f[2].indexOf(':');
        if (colon <= 0) {
            throw new LoadProbeException(source + " line " + lineNo
                    + ": expected major:minor, found '" + DiskStats.abbreviate(f[2]) + "'");
        }
        try {
            return new MountInfo(Integer.parseInt(f[0]), Integer.parseInt(f[1]),
                    Integer.parseUnsignedInt(f[2].substring(0, colon)),
                    Integer.parseUnsignedInt(f[2].substring(colon + 1)),
                    unescape(f[3]), unescape(f[4]), f[sep + 1], unescape(f[sep + 2]));
        } catch (NumberFormatException e) {
            throw new LoadProbeException(source + " line " + lineNo
                    + ": expected numeric ids and device number, found '" + DiskStats.abbreviate(line)
                    + "'");
        }
    }

    /** Decodes the kernel's {@code \ooo} octal escapes; a malformed escape is kept literally. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1) && isOctal(s, i + 2)
                    && isOctal(s, i + 3)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isOctal(String s, int i) {
        return i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '7';
    }
}
