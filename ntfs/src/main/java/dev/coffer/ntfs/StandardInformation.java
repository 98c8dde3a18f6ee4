package dev.coffer.ntfs;

import java.time.Instant;

/**
 * The $STANDARD_INFORMATION of a file: its four times (what Windows shows), its FILE_ATTRIBUTE_*
 * flags, and (NTFS 3.0+, 0 otherwise) owner id, security id (key into $Secure) and update sequence
 * number. Times are converted from FILETIME (100 ns ticks since 1601-01-01 UTC).
 */
public record StandardInformation(Instant created, Instant modified, Instant mftModified, Instant accessed,
        int fileAttributes, int ownerId, int securityId, long usn) {
    public static final int READONLY = 0x0001;
    public static final int HIDDEN = 0x0002;
    public static final int SYSTEM = 0x0004;
    public static final int DIRECTORY = 0x0010;
    public static final int ARCHIVE = 0x0020;
    public static final int SPARSE_FILE = 0x0200;
    public static final int REPARSE_POINT = 0x0400;
    public static final int COMPRESSED = 0x0800;
    public static final int OFFLINE = 0x1000;
    public static final int NOT_CONTENT_INDEXED = 0x2000;
    public static final int ENCRYPTED = 0x4000;

    static final int OFF_CREATED = 0x00;
    static final int OFF_MODIFIED = 0x08;
    static final int OFF_MFT_MODIFIED = 0x10;
    static final int OFF_ACCESSED = 0x18;
    static final int OFF_ATTRIBUTES = 0x20;
    static final int V1_SIZE = 0x30;
    static final int OFF_OWNER_ID = 0x30;
    static final int OFF_SECURITY_ID = 0x34;
    static final int OFF_USN = 0x40;
    static final int V3_SIZE = 0x48;
    /** FILETIME of 1970-01-01T00:00:00Z. */
    static final long UNIX_EPOCH_FILETIME = 116_444_736_000_000_000L;

    static StandardInformation parse(byte[] v, Object where) throws CorruptNtfsException {
        if (v.length < V1_SIZE) {
            throw new CorruptNtfsException(where + ": $STANDARD_INFORMATION expected >= 0x30 bytes, found " + v.length);
        }
        boolean v3 = v.length >= V3_SIZE;
        return new StandardInformation(fileTime(Le.i64(v, OFF_CREATED)), fileTime(Le.i64(v, OFF_MODIFIED)),
                fileTime(Le.i64(v, OFF_MFT_MODIFIED)), fileTime(Le.i64(v, OFF_ACCESSED)), Le.i32(v, OFF_ATTRIBUTES),
                v3 ? Le.i32(v, OFF_OWNER_ID) : 0, v3 ? Le.i32(v, OFF_SECURITY_ID) : 0, v3 ? Le.i64(v, OFF_USN) : 0);
    }

    /** Converts a FILETIME (100 ns ticks since 1601 UTC; read as signed, any value is accepted) to an Instant. */
    public static Instant fileTime(long ticks) {
        long sinceEpoch = ticks - UNIX_EPOCH_FILETIME; // wraps for absurd values; still a valid Instant
        return Instant.ofEpochSecond(Math.floorDiv(sinceEpoch, 10_000_000L), Math.floorMod(sinceEpoch, 10_000_000L) * 100);
    }

    /** Converts an Instant back to FILETIME ticks (the inverse of {@link #fileTime}). */
    public static long toFileTime(Instant t) {
        return t.getEpochSecond() * 10_000_000L + t.getNano() / 100 + UNIX_EPOCH_FILETIME;
    }
}
