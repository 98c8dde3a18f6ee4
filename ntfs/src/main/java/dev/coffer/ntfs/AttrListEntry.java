package dev.coffer.ntfs;

import java.util.ArrayList;
import java.util.List;

/**
 * One entry of an $ATTRIBUTE_LIST: which record holds which attribute extent. Layout: type 0x00,
 * entry length 0x04, name length 0x06, name offset 0x07, starting vcn 0x08, file reference of the
 * holding record 0x10, attribute id 0x18, name 0x1A.
 */
record AttrListEntry(int type, String name, long startVcn, long recordNumber, int sequence, int id) {
    static final int MIN_LENGTH = 0x1A;

    static List<AttrListEntry> parseAll(byte[] v, String where) throws CorruptNtfsException {
        List<AttrListEntry> out = new ArrayList<>();
        int p = 0;
        while (p + MIN_LENGTH <= v.length) {
            int type = Le.i32(v, p);
            int len = Le.u16(v, p + 0x04);
            if (len < MIN_LENGTH || len > v.length - p) {
                throw new CorruptNtfsException(where + ": entry at +" + Checks.hex(p) + " length expected "
                        + MIN_LENGTH + ".." + (v.length - p) + ", found " + len);
            }
            int nameLen = Le.u8(v, p + 0x06);
            int nameOff = Le.u8(v, p + 0x07);
            if (nameOff + 2 * nameLen > len) {
                throw new CorruptNtfsException(where + ": entry at +" + Checks.hex(p) + " name runs past its " + len + " bytes");
            }
            long ref = Le.i64(v, p + 0x10);
            out.add(new AttrListEntry(type, Le.utf16(v, p + nameOff, nameLen), Le.i64(v, p + 0x08),
                    ref & 0xFFFF_FFFF_FFFFL, (int) (ref >>> 48), Le.u16(v, p + 0x18)));
            p += len;
        }
        return out;
    }
}
