package dev.coffer.ntfs;

import java.util.ArrayList;
import java.util.List;

/**
 * One MFT record ("FILE" record) after its fixups, with its attributes decoded. Header layout after
 * the Linux-NTFS documentation (NTFS 3.1): update sequence 0x04/0x06, sequence number 0x10, link
 * count 0x12, first attribute 0x14, flags 0x16, bytes used 0x18, bytes allocated 0x1C, base record
 * reference 0x20, record number 0x2C.
 */
final class MftRecord {
    static final int MAGIC_FILE = 0x454C4946; // "FILE"
    static final int MAGIC_BAAD = 0x44414142; // "BAAD": Windows marks records whose fixup failed
    static final int OFF_SEQUENCE = 0x10;
    static final int OFF_LINK_COUNT = 0x12;
    static final int OFF_FIRST_ATTRIBUTE = 0x14;
    static final int OFF_FLAGS = 0x16;
    static final int OFF_BYTES_USED = 0x18;
    static final int OFF_BASE_REFERENCE = 0x20;
    static final int OFF_RECORD_NUMBER = 0x2C;
    static final int FLAG_IN_USE = 0x0001;
    static final int FLAG_DIRECTORY = 0x0002;
    /** Smallest attribute: a resident header of 0x18 bytes; bounds the attributes per record. */
    static final int MIN_ATTRIBUTE_LENGTH = 0x18;

    final long number;
    final int sequence;
    final int linkCount;
    final int flags;
    final long baseReference;
    final List<Attribute> attributes;

    private MftRecord(long number, int sequence, int linkCount, int flags, long baseReference, List<Attribute> attributes) {
        this.number = number;
        this.sequence = sequence;
        this.linkCount = linkCount;
        this.flags = flags;
        this.baseReference = baseReference;
        this.attributes = attributes;
    }

    boolean inUse() {
        return (flags & FLAG_IN_USE) != 0;
    }

    boolean directory() {
        return (flags & FLAG_DIRECTORY) != 0;
    }

    long baseRecordNumber() {
        return baseReference & 0xFFFF_FFFF_FFFFL;
    }

    /** True when the {@code size} bytes at {@code b[off]} start with the "FILE" magic. */
    static boolean hasMagic(byte[] b, int off) {
        return Le.i32(b, off) == MAGIC_FILE;
    }

    /** True when the record at {@code b[off]} is flagged in use (readable before fixups: it is in the first stride). */
    static boolean inUseFlag(byte[] b, int off) {
        return (Le.u16(b, off + OFF_FLAGS) & FLAG_IN_USE) != 0;
    }

    /**
     * Applies the fixups of the record at {@code b[off..off+size)} in place and decodes it.
     * {@code at} is its byte offset on the volume, for messages.
     */
    static MftRecord parse(byte[] b, int off, int size, long number, long at, long totalClusters)
            throws CorruptNtfsException {
        Where where = Where.record(number, at);
        int magic = Le.i32(b, off);
        if (magic != MAGIC_FILE) {
            throw new CorruptNtfsException(where + ": expected magic \"FILE\", found " + Checks.hex(Integer.toUnsignedLong(magic))
                    + (magic == MAGIC_BAAD ? " (\"BAAD\": Windows found its fixups broken)" : ""));
        }
        Fixup.apply(b, off, size, where);
        int used = Le.i32(b, off + OFF_BYTES_USED);
        if (used < 0x30 || used > size) {
            throw new CorruptNtfsException(where + ": bytes used at +0x18 expected 0x30.." + Checks.hex(size)
                    + ", found " + Checks.hex(Integer.toUnsignedLong(used)));
        }
        int first = Le.u16(b, off + OFF_FIRST_ATTRIBUTE);
        if (first < 0x30 || first > used - 4) {
            throw new CorruptNtfsException(where + ": first attribute offset at +0x14 expected 0x30.."
                    + Checks.hex(used - 4) + ", found " + Checks.hex(first));
        }
        if (Le.u16(b, off + 0x04) >= 0x30) { // NTFS 3.1 records carry their own number
            long self = Le.u32(b, off + OFF_RECORD_NUMBER);
            if (self != (number & 0xFFFF_FFFFL)) {
                throw new CorruptNtfsException(where + ": record number at +0x2c expected " + number + ", found " + self);
            }
        }
        List<Attribute> attrs = new ArrayList<>(8);
        int p = first;
        int limit = size / MIN_ATTRIBUTE_LENGTH;
        while (true) {
            if (p > used - 4) {
                throw new CorruptNtfsException(where + ": no end marker before +" + Checks.hex(used));
            }
            int type = Le.i32(b, off + p);
            if (type == Attribute.END) {
                break;
            }
            if (p > used - 8) {
                throw new CorruptNtfsException(where + ": attribute at +" + Checks.hex(p) + " runs past bytes used " + Checks.hex(used));
            }
            long len = Le.u32(b, off + p + Attribute.OFF_LENGTH);
            if (len < MIN_ATTRIBUTE_LENGTH || len > used - p) {
                throw new CorruptNtfsException(where + ": attribute at +" + Checks.hex(p) + " length out of bounds, expected "
                        + MIN_ATTRIBUTE_LENGTH + ".." + (used - p) + ", found " + len);
            }
            if (attrs.size() >= limit) {
                throw new CorruptNtfsException(where + ": more than " + limit + " attributes");
            }
            attrs.add(Attribute.parse(b, off + p, p, (int) len, number, totalClusters, where));
            p += (int) len;
        }
        return new MftRecord(number, Le.u16(b, off + OFF_SEQUENCE), Le.u16(b, off + OFF_LINK_COUNT),
                Le.u16(b, off + OFF_FLAGS), Le.i64(b, off + OFF_BASE_REFERENCE), attrs);
    }
}
