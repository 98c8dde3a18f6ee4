package dev.coffer.vmdk;

/**
 * The kind of one extent line in a descriptor ({@code RW 2048 SPARSE "disk-s001.vmdk"}): how the
 * bytes of that stretch of the virtual disk are stored.
 */
public enum ExtentType {
    /** A plain file of raw sectors, starting at the line's offset (hosted monolithicFlat/twoGbMaxExtentFlat). */
    FLAT,
    /** The ESXi flat extent ({@code -flat.vmdk}); read as FLAT at offset 0. */
    VMFS,
    /** A hosted sparse file (KDMV; streamOptimized too); some tools also write COWD files as SPARSE. */
    SPARSE,
    /** An ESXi redo-log/snapshot delta in the COWD format. */
    VMFSSPARSE,
    /** An ESXi space-efficient sparse delta (seSparse). */
    SESPARSE,
    /** No file: the stretch reads as zeros. */
    ZERO,
    /** A raw device mapping (virtual compatibility): not a file-backed disk, refused. */
    VMFSRDM,
    /** A raw device mapping (physical/passthrough): not a file-backed disk, refused. */
    VMFSRAW;

    /** True for the raw-device kinds, which name a LUN rather than a file. */
    boolean rawDevice() {
        return this == VMFSRDM || this == VMFSRAW;
    }
}
