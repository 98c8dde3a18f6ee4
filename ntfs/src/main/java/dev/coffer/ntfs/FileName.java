package dev.coffer.ntfs;

import java.time.Instant;

/**
 * One name (hard link) of a file: a $FILE_NAME attribute or index key. {@code parentRecordNumber}
 * and {@code parentSequenceNumber} form the parent directory's file reference; {@code fileAttributes}
 * are the FILE_ATTRIBUTE_* flags copied into the name (0x10000000 = directory); {@code dataSize} is
 * the size Windows last copied into the name (may be stale; the stream's size is authoritative).
 */
public record FileName(long parentRecordNumber, int parentSequenceNumber, String name, Namespace namespace,
        int fileAttributes, long dataSize, Instant modified) {
    /** Flag in {@link #fileAttributes()} marking a directory (an index of $FILE_NAME, "$I30"). */
    public static final int DUP_FILE_NAME_INDEX_PRESENT = 0x10000000;
    static final int OFF_PARENT = 0x00;
    static final int OFF_MODIFIED = 0x10;
    static final int OFF_DATA_SIZE = 0x30;
    static final int OFF_FLAGS = 0x38;
    static final int OFF_NAME_LENGTH = 0x40;
    static final int OFF_NAMESPACE = 0x41;
    static final int OFF_NAME = 0x42;

    /** The $FILE_NAME namespaces: which naming rules the name obeys. */
    public enum Namespace {
        /** Case-sensitive, any character but NUL and '/' (0). */
        POSIX,
        /** The long Windows name (1). */
        WIN32,
        /** The 8.3 short name, present beside a separate WIN32 name (2). */
        DOS,
        /** A name valid as both the Windows and the 8.3 name (3). */
        WIN32_AND_DOS
    }

    /** True when this is an 8.3 short name only: listings skip it, the long name stands for the file. */
    public boolean dosOnly() {
        return namespace == Namespace.DOS;
    }

    /** True when the name says the file is a directory. */
    public boolean directory() {
        return (fileAttributes & DUP_FILE_NAME_INDEX_PRESENT) != 0;
    }

    /** Decodes a $FILE_NAME value of {@code len} bytes at {@code b[p]}; {@code where} names it for messages. */
    static FileName parse(byte[] b, int p, int len, Object where) throws CorruptNtfsException {
        if (len < OFF_NAME) {
            throw new CorruptNtfsException(where + ": $FILE_NAME expected >= 0x42 bytes, found " + len);
        }
        int chars = Le.u8(b, p + OFF_NAME_LENGTH);
        if (OFF_NAME + 2 * chars > len) {
            throw new CorruptNtfsException(where + ": $FILE_NAME name of " + chars + " chars runs past its "
                    + len + " bytes");
        }
        int ns = Le.u8(b, p + OFF_NAMESPACE);
        if (ns > 3) {
            throw new CorruptNtfsException(where + ": $FILE_NAME namespace at +0x41 expected 0..3, found " + ns);
        }
        long parent = Le.i64(b, p + OFF_PARENT);
        return new FileName(parent & 0xFFFF_FFFF_FFFFL, (int) (parent >>> 48), Le.utf16(b, p + OFF_NAME, chars),
                Namespace.values()[ns], Le.i32(b, p + OFF_FLAGS), Le.i64(b, p + OFF_DATA_SIZE),
                StandardInformation.fileTime(Le.i64(b, p + OFF_MODIFIED)));
    }
}
