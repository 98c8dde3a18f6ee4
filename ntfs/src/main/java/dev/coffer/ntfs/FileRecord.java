package dev.coffer.ntfs;

import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * One file or directory of the volume, assembled from its base MFT record and any extension
 * records: its {@code mftRecordNumber} (index into $MFT) and {@code sequenceNumber} (bumped each
 * time the record is reused; together they are the file reference), every name (hard link) in
 * every namespace, $STANDARD_INFORMATION (null only if missing), reparse point and $OBJECT_ID (null
 * when absent), and its streams (see {@link StreamInfo}).
 */
public record FileRecord(long mftRecordNumber, int sequenceNumber, int hardLinkCount, boolean directory,
        List<FileName> names, StandardInformation standardInformation, ReparsePoint reparsePoint, UUID objectId,
        List<StreamInfo> streams) {
    /** MFT record numbers 0-15 are the system files ($MFT ... $Extend and reserved ones). */
    public static final long FIRST_USER_RECORD = 16;
    public static final long MFT = 0;
    public static final long VOLUME = 3;
    public static final long ROOT = 5;
    public static final long BITMAP = 6;
    public static final long EXTEND = 11;

    /** The file reference: sequence number in the top 16 bits, record number below. */
    public long reference() {
        return (long) sequenceNumber << 48 | mftRecordNumber;
    }

    /** The $DATA stream with this name ("" for the unnamed one), if the file has it. */
    public Optional<StreamInfo> dataStream(String name) {
        for (StreamInfo s : streams) {
            if (s.isData() && s.name().equals(name)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    /** All $DATA streams, unnamed first if present. */
    public List<StreamInfo> dataStreams() {
        List<StreamInfo> out = new java.util.ArrayList<>(streams.size());
        for (StreamInfo s : streams) {
            if (s.isData()) {
                if (s.name().isEmpty()) {
                    out.add(0, s);
                } else {
                    out.add(s);
                }
            }
        }
        return out;
    }

    /** The size of the unnamed $DATA stream, 0 when there is none (directories). */
    public long size() {
        return dataStream("").map(StreamInfo::size).orElse(0L);
    }

    /** The names to show: every name except 8.3 short names that have a long twin. */
    public List<FileName> links() {
        int dos = 0;
        for (FileName n : names) {
            if (n.dosOnly()) {
                dos++;
            }
        }
        if (dos == 0 || dos == names.size()) {
            return names;
        }
        List<FileName> l = new java.util.ArrayList<>(names.size() - dos);
        for (FileName n : names) {
            if (!n.dosOnly()) {
                l.add(n);
            }
        }
        return l;
    }

    /** The first long name, or null for a record with no $FILE_NAME. */
    public FileName primaryName() {
        List<FileName> l = links();
        return l.isEmpty() ? null : l.get(0);
    }

    /** The security id ($Secure key) from $STANDARD_INFORMATION, 0 when absent. */
    public int securityId() {
        return standardInformation == null ? 0 : standardInformation.securityId();
    }

    /** FILE_ATTRIBUTE_* flags from $STANDARD_INFORMATION, 0 when absent. */
    public int fileAttributes() {
        return standardInformation == null ? 0 : standardInformation.fileAttributes();
    }

    /** True for symlinks and junctions. */
    public boolean link() {
        return reparsePoint != null && reparsePoint.link();
    }
}
