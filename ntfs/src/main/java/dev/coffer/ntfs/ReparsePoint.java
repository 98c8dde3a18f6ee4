package dev.coffer.ntfs;

import java.util.Map;

/**
 * A file's $REPARSE_POINT: the reparse {@code tag} (what owns the file's data: a link, Windows
 * deduplication, WOF compression, a cloud provider...), its well-known {@code tagName}, and for
 * symlinks and junctions their {@code target} (substitute name) and {@code printName}.
 * {@code relative} is the symlink's SYMLINK_FLAG_RELATIVE.
 */
public record ReparsePoint(long tag, String tagName, String target, String printName, boolean relative) {
    public static final long TAG_MOUNT_POINT = 0xA0000003L;
    public static final long TAG_SYMLINK = 0xA000000CL;
    public static final long TAG_DEDUP = 0x80000013L;
    public static final long TAG_WOF = 0x80000017L;
    public static final long TAG_LX_SYMLINK = 0xA000001DL;
    /** Reparse data is at most 16 KiB ([MS-FSCC] 2.1.2). */
    static final int MAX_DATA = 16 * 1024;

    private static final Map<Long, String> NAMES = Map.ofEntries(
            Map.entry(TAG_MOUNT_POINT, "MOUNT_POINT"),
            Map.entry(TAG_SYMLINK, "SYMLINK"),
            Map.entry(0xC0000004L, "HSM"),
            Map.entry(0x80000005L, "DRIVE_EXTENDER"),
            Map.entry(0x80000006L, "HSM2"),
            Map.entry(0x80000007L, "SIS"),
            Map.entry(0x80000008L, "WIM"),
            Map.entry(0x80000009L, "CSV"),
            Map.entry(0x8000000AL, "DFS"),
            Map.entry(0x80000012L, "DFSR"),
            Map.entry(TAG_DEDUP, "DEDUP"),
            Map.entry(0x80000014L, "NFS"),
            Map.entry(0x80000015L, "FILE_PLACEHOLDER"),
            Map.entry(0x80000016L, "DFM"),
            Map.entry(TAG_WOF, "WOF"),
            Map.entry(0x80000018L, "WCI"),
            Map.entry(0x9000001AL, "CLOUD"),
            Map.entry(0x8000001BL, "APPEXECLINK"),
            Map.entry(0x9000001CL, "PROJFS"),
            Map.entry(TAG_LX_SYMLINK, "LX_SYMLINK"),
            Map.entry(0x8000001EL, "STORAGE_SYNC"),
            Map.entry(0x80000020L, "UNHANDLED"),
            Map.entry(0x80000021L, "ONEDRIVE"),
            Map.entry(0x80000023L, "AF_UNIX"),
            Map.entry(0x80000024L, "LX_FIFO"),
            Map.entry(0x80000025L, "LX_CHR"),
            Map.entry(0x80000026L, "LX_BLK"));

    /** The well-known name of a tag ("SYMLINK", "DEDUP", "WOF", "CLOUD" for every cloud sub-tag...), or its hex value. */
    public static String nameOf(long tag) {
        String n = NAMES.get(tag);
        if (n == null && (tag & 0xFFFF0FFFL) == 0x9000001AL) {
            n = "CLOUD"; // CLOUD_1..CLOUD_F carry the sub-tag in bits 12-15
        }
        return n != null ? n : String.format("0x%08X", tag);
    }

    /** True for the tags that make the file a link: symlink or junction (mount point). */
    public boolean link() {
        return tag == TAG_SYMLINK || tag == TAG_MOUNT_POINT || tag == TAG_LX_SYMLINK;
    }

    static ReparsePoint parse(byte[] v, Object where) throws CorruptNtfsException {
        if (v.length < 8) {
            throw new CorruptNtfsException(where + ": $REPARSE_POINT expected >= 8 bytes, found " + v.length);
        }
        long tag = Le.u32(v, 0);
        int dataLen = Le.u16(v, 4);
        if (8 + dataLen > v.length) {
            throw new CorruptNtfsException(where + ": $REPARSE_POINT data length at +0x4 is " + dataLen
                    + ", only " + (v.length - 8) + " bytes follow");
        }
        String target = null;
        String print = null;
        boolean relative = false;
        if (tag == TAG_SYMLINK || tag == TAG_MOUNT_POINT) {
            int buf = tag == TAG_SYMLINK ? 20 : 16;
            if (dataLen + 8 < buf) {
                throw new CorruptNtfsException(where + ": " + nameOf(tag) + " reparse data too short: " + dataLen);
            }
            target = name(v, buf, Le.u16(v, 8), Le.u16(v, 10), 8 + dataLen, where);
            print = name(v, buf, Le.u16(v, 12), Le.u16(v, 14), 8 + dataLen, where);
            relative = tag == TAG_SYMLINK && (Le.i32(v, 16) & 1) != 0;
        } else if (tag == TAG_LX_SYMLINK && dataLen >= 4) {
            target = new String(v, 12, dataLen - 4, java.nio.charset.StandardCharsets.UTF_8);
            print = target;
            relative = !target.startsWith("/");
        }
        return new ReparsePoint(tag, nameOf(tag), target, print, relative);
    }

    private static String name(byte[] v, int base, int off, int len, int end, Object where) throws CorruptNtfsException {
        if ((len & 1) != 0 || base + off + len > end) {
            throw new CorruptNtfsException(where + ": reparse path (+" + off + ", " + len + " bytes) out of bounds");
        }
        return Le.utf16(v, base + off, len / 2);
    }
}
