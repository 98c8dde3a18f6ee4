package dev.coffer.vmdk;

/**
 * One extent line of a descriptor: {@code ACCESS SIZE TYPE ["FILE" [OFFSET]]}.
 *
 * @param access        {@code RW}, {@code RDONLY} or {@code NOACCESS}
 * @param sizeSectors   the extent's share of the virtual disk, in 512-byte sectors
 * @param type          how the extent stores its bytes
 * @param fileName      the extent file as written in the descriptor, or null for {@link ExtentType#ZERO}
 * @param offsetSectors where the data starts inside a FLAT extent file, in sectors (0 for others)
 * @param lineOffset    byte offset of the line in the file holding the descriptor (for error messages)
 */
public record ExtentDescriptor(String access, long sizeSectors, ExtentType type, String fileName,
        long offsetSectors, long lineOffset) {
    /** The extent's share of the virtual disk in bytes. */
    public long sizeBytes() {
        return sizeSectors * Limits.SECTOR;
    }
}
