package dev.coffer.ntfs;

import java.util.List;

/**
 * One stream of a file: an attribute with content, merged over all its extents (several MFT records
 * when the file has an $ATTRIBUTE_LIST). Every $DATA attribute ({@code name} "" is the unnamed,
 * default stream; others are alternate data streams) and every non-resident attribute of another
 * type (directory indexes "$I30", $BITMAP, $LOGGED_UTILITY_STREAM, ...), so that the runs of all
 * streams of all records cover every allocated cluster of the volume.
 *
 * <p>Sizes are bytes: {@code size} is the logical size, {@code allocatedSize} what the runs cover
 * (holes included), {@code initializedSize} where valid data ends (bytes past it read as zeros).
 * {@code runs} is empty for a resident stream (its bytes live inside the MFT record).
 */
public final class StreamInfo {
    private final int attributeType;
    private final String name;
    private final long size;
    private final long allocatedSize;
    private final long initializedSize;
    private final boolean resident;
    private final int flags;
    private final int compressionUnitClusters;
    private final List<Run> runs;
    final byte[] residentData;

    StreamInfo(int attributeType, String name, long size, long allocatedSize, long initializedSize, boolean resident,
            int flags, int compressionUnitClusters, List<Run> runs, byte[] residentData) {
        this.attributeType = attributeType;
        this.name = name;
        this.size = size;
        this.allocatedSize = allocatedSize;
        this.initializedSize = initializedSize;
        this.resident = resident;
        this.flags = flags;
        this.compressionUnitClusters = compressionUnitClusters;
        this.runs = runs;
        this.residentData = residentData;
    }

    /** The attribute type code (0x80 = $DATA, 0xA0 = $INDEX_ALLOCATION, ...). */
    public int attributeType() {
        return attributeType;
    }

    /** The attribute type's name, e.g. "$DATA". */
    public String typeName() {
        return Attribute.typeName(attributeType);
    }

    /** True for $DATA streams (file content and alternate data streams). */
    public boolean isData() {
        return attributeType == Attribute.DATA;
    }

    /** The attribute name: "" for the unnamed $DATA stream, the ADS name, "$I30" for a directory index. */
    public String name() {
        return name;
    }

    /** Logical size in bytes. */
    public long size() {
        return size;
    }

    /** Bytes covered by the runs (holes included); the value length for a resident stream. */
    public long allocatedSize() {
        return allocatedSize;
    }

    /** Bytes of valid data; reads past this offset (and before {@link #size()}) return zeros. */
    public long initializedSize() {
        return initializedSize;
    }

    /** True when the bytes live inside the MFT record (no runs). */
    public boolean resident() {
        return resident;
    }

    /** True when the stream is LZNT1-compressed in units of {@link #compressionUnitClusters()} clusters. */
    public boolean compressed() {
        return (flags & Attribute.FLAG_COMPRESSED) != 0 && compressionUnitClusters > 0;
    }

    /** True when the attribute is flagged sparse (it may have holes: runs with lcn -1). */
    public boolean sparse() {
        return (flags & Attribute.FLAG_SPARSE) != 0;
    }

    /** True when the stream is EFS-encrypted: readers return the raw encrypted bytes. */
    public boolean encrypted() {
        return (flags & Attribute.FLAG_ENCRYPTED) != 0;
    }

    /** Clusters per compression unit (16 on real volumes), 0 when not compressed. */
    public int compressionUnitClusters() {
        return compressionUnitClusters;
    }

    /** The stream's cluster runs in vcn order, holes as lcn -1; empty when resident. */
    public List<Run> runs() {
        return runs;
    }

    /** Clusters actually allocated on the volume (holes excluded). */
    public long allocatedClusters() {
        long n = 0;
        for (Run r : runs) {
            if (!r.sparse()) {
                n += r.clusterCount();
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return typeName() + (name.isEmpty() ? "" : ":" + name) + " size=" + size + (resident ? " resident" : " runs=" + runs.size())
                + (compressed() ? " compressed" : "") + (sparse() ? " sparse" : "") + (encrypted() ? " encrypted" : "");
    }
}
