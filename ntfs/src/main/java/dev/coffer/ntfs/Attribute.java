package dev.coffer.ntfs;

import java.util.List;

/**
 * One attribute of an MFT record, decoded from its header: resident (value held here) or
 * non-resident (one extent of a stream: vcn range, sizes, run list). Layout after the Linux-NTFS
 * documentation: common header 0x00-0x0F, resident 0x10-0x17, non-resident 0x10-0x47.
 */
final class Attribute {
    static final int STANDARD_INFORMATION = 0x10;
    static final int ATTRIBUTE_LIST = 0x20;
    static final int FILE_NAME = 0x30;
    static final int OBJECT_ID = 0x40;
    static final int SECURITY_DESCRIPTOR = 0x50;
    static final int VOLUME_NAME = 0x60;
    static final int VOLUME_INFORMATION = 0x70;
    static final int DATA = 0x80;
    static final int INDEX_ROOT = 0x90;
    static final int INDEX_ALLOCATION = 0xA0;
    static final int BITMAP = 0xB0;
    static final int REPARSE_POINT = 0xC0;
    static final int EA_INFORMATION = 0xD0;
    static final int EA = 0xE0;
    static final int LOGGED_UTILITY_STREAM = 0x100;
    static final int END = 0xFFFFFFFF;

    static final int FLAG_COMPRESSED = 0x0001;
    static final int FLAG_ENCRYPTED = 0x4000;
    static final int FLAG_SPARSE = 0x8000;

    static final int OFF_TYPE = 0x00;
    static final int OFF_LENGTH = 0x04;
    static final int OFF_NON_RESIDENT = 0x08;
    static final int OFF_NAME_LENGTH = 0x09;
    static final int OFF_NAME_OFFSET = 0x0A;
    static final int OFF_FLAGS = 0x0C;
    static final int OFF_ID = 0x0E;
    static final int OFF_VALUE_LENGTH = 0x10;
    static final int OFF_VALUE_OFFSET = 0x14;
    static final int RESIDENT_HEADER = 0x18;
    static final int OFF_START_VCN = 0x10;
    static final int OFF_LAST_VCN = 0x18;
    static final int OFF_RUNS_OFFSET = 0x20;
    static final int OFF_COMPRESSION_UNIT = 0x22;
    static final int OFF_ALLOCATED_SIZE = 0x28;
    static final int OFF_DATA_SIZE = 0x30;
    static final int OFF_INITIALIZED_SIZE = 0x38;
    static final int NON_RESIDENT_HEADER = 0x40;
    /** Compression units are 2^4 clusters on every real volume; 2^8 bounds the unit buffer. */
    static final int MAX_COMPRESSION_UNIT_LOG2 = 8;

    final int type;
    final String name;
    final int flags;
    final int id;
    final long recordNumber;
    final boolean nonResident;
    final byte[] value;
    final long startVcn;
    final long lastVcn;
    final int compressionUnitLog2;
    final long allocatedSize;
    final long dataSize;
    final long initializedSize;
    final List<Run> runs;

    private Attribute(int type, String name, int flags, int id, long recordNumber, byte[] value) {
        this.type = type;
        this.name = name;
        this.flags = flags;
        this.id = id;
        this.recordNumber = recordNumber;
        this.nonResident = false;
        this.value = value;
        this.startVcn = 0;
        this.lastVcn = -1;
        this.compressionUnitLog2 = 0;
        this.allocatedSize = value.length;
        this.dataSize = value.length;
        this.initializedSize = value.length;
        this.runs = List.of();
    }

    private Attribute(int type, String name, int flags, int id, long recordNumber, long startVcn, long lastVcn,
            int cu, long alloc, long data, long init, List<Run> runs) {
        this.type = type;
        this.name = name;
        this.flags = flags;
        this.id = id;
        this.recordNumber = recordNumber;
        this.nonResident = true;
        this.value = null;
        this.startVcn = startVcn;
        this.lastVcn = lastVcn;
        this.compressionUnitLog2 = cu;
        this.allocatedSize = alloc;
        this.dataSize = data;
        this.initializedSize = init;
        this.runs = runs;
    }

    /**
     * Parses the attribute at {@code b[p]} whose declared length was already checked to end at or
     * before {@code p + len}; {@code rel} is its offset inside the record and {@code where} names the
     * record (number and volume offset), both for messages.
     */
    static Attribute parse(byte[] b, int p, int rel, int len, long recordNumber, long totalClusters, Object where)
            throws CorruptNtfsException {
        int type = Le.i32(b, p + OFF_TYPE);
        int nameLen = Le.u8(b, p + OFF_NAME_LENGTH);
        int nameOff = Le.u16(b, p + OFF_NAME_OFFSET);
        String name = "";
        if (nameLen > 0) {
            if (nameOff + 2L * nameLen > len) {
                throw new CorruptNtfsException(Where.of(where, " attribute ", new AttrHex(type, rel)) + ": name (+" + Checks.hex(nameOff) + ", " + nameLen
                        + " chars) runs past the attribute's " + len + " bytes");
            }
            name = Le.utf16(b, p + nameOff, nameLen);
        }
        int flags = Le.u16(b, p + OFF_FLAGS);
        int id = Le.u16(b, p + OFF_ID);
        if (b[p + OFF_NON_RESIDENT] == 0) {
            if (len < RESIDENT_HEADER) {
                throw new CorruptNtfsException(Where.of(where, " attribute ", new AttrHex(type, rel)) + ": resident attribute length expected >= 0x18, found " + len);
            }
            long vlen = Le.u32(b, p + OFF_VALUE_LENGTH);
            int voff = Le.u16(b, p + OFF_VALUE_OFFSET);
            if (voff + vlen > len) {
                throw new CorruptNtfsException(Where.of(where, " attribute ", new AttrHex(type, rel)) + ": resident value (+" + Checks.hex(voff) + ", " + vlen
                        + " bytes) runs past the attribute's " + len + " bytes");
            }
            byte[] v = new byte[(int) vlen];
            System.arraycopy(b, p + voff, v, 0, v.length);
            return new Attribute(type, name, flags, id, recordNumber, v);
        }
        if (len < NON_RESIDENT_HEADER) {
            throw new CorruptNtfsException(Where.of(where, " attribute ", new AttrHex(type, rel)) + ": non-resident attribute length expected >= 0x40, found " + len);
        }
        long startVcn = Le.i64(b, p + OFF_START_VCN);
        long lastVcn = Le.i64(b, p + OFF_LAST_VCN);
        if (startVcn < 0 || lastVcn < startVcn - 1 || lastVcn > totalClusters * 4096) {
            throw new CorruptNtfsException(Where.of(where, " attribute ", new AttrHex(type, rel)) + ": vcn range " + startVcn + ".." + lastVcn + " invalid");
        }
        int runsOff = Le.u16(b, p + OFF_RUNS_OFFSET);
        if (runsOff < NON_RESIDENT_HEADER || runsOff > len) {
            throw new CorruptNtfsException(Where.of(where, " attribute ", new AttrHex(type, rel)) + ": run list offset at +0x20 out of range, found " + Checks.hex(runsOff));
        }
        int cu = Le.u16(b, p + OFF_COMPRESSION_UNIT);
        if (cu > MAX_COMPRESSION_UNIT_LOG2) {
            throw new CorruptNtfsException(Where.of(where, " attribute ", new AttrHex(type, rel)) + " +0x22: compression unit out of range, expected 0.."
                    + MAX_COMPRESSION_UNIT_LOG2 + ", found " + cu);
        }
        long alloc = Le.i64(b, p + OFF_ALLOCATED_SIZE);
        long data = Le.i64(b, p + OFF_DATA_SIZE);
        long init = Le.i64(b, p + OFF_INITIALIZED_SIZE);
        if (startVcn == 0 && (alloc < 0 || data < 0 || init < 0)) {
            throw new CorruptNtfsException(Where.of(where, " attribute ", new AttrHex(type, rel)) + ": sizes invalid, allocated " + alloc + ", data " + data
                    + ", initialized " + init);
        }
        List<Run> runs = RunList.decode(b, p + runsOff, p + len, startVcn, lastVcn, totalClusters,
                Where.of(where, " attribute ", new AttrHex(type, rel)));
        return new Attribute(type, name, flags, id, recordNumber, startVcn, lastVcn, cu, alloc, data, init, runs);
    }

    /** "0xTYPE at +0xREL", formatted late. */
    private record AttrHex(int type, int rel) {
        @Override
        public String toString() {
            return Checks.hex(Integer.toUnsignedLong(type)) + " at +" + Checks.hex(rel);
        }
    }

    static String typeName(int type) {
        switch (type) {
            case STANDARD_INFORMATION: return "$STANDARD_INFORMATION";
            case ATTRIBUTE_LIST: return "$ATTRIBUTE_LIST";
            case FILE_NAME: return "$FILE_NAME";
            case OBJECT_ID: return "$OBJECT_ID";
            case SECURITY_DESCRIPTOR: return "$SECURITY_DESCRIPTOR";
            case VOLUME_NAME: return "$VOLUME_NAME";
            case VOLUME_INFORMATION: return "$VOLUME_INFORMATION";
            case DATA: return "$DATA";
            case INDEX_ROOT: return "$INDEX_ROOT";
            case INDEX_ALLOCATION: return "$INDEX_ALLOCATION";
            case BITMAP: return "$BITMAP";
            case REPARSE_POINT: return "$REPARSE_POINT";
            case EA_INFORMATION: return "$EA_INFORMATION";
            case EA: return "$EA";
            case LOGGED_UTILITY_STREAM: return "$LOGGED_UTILITY_STREAM";
            default: return "attribute " + Checks.hex(Integer.toUnsignedLong(type));
        }
    }
}
