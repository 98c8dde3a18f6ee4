package dev.coffer.vmdk;

/**
 * One partition of a partition table.
 *
 * @param index         partition number as Linux numbers them: MBR primaries 1-4, logicals from 5;
 *                      GPT entries from 1 by entry slot
 * @param offset        byte offset of the first sector on the disk
 * @param length        length in bytes
 * @param mbrType       the MBR partition type byte (0x07, 0x83, ...), or -1 on GPT
 * @param typeGuid      the GPT partition type GUID (upper case, dashed), or null on MBR
 * @param kind          a readable kind: {@code ntfs/basic-data}, {@code linux}, {@code extended},
 *                      {@code efi-system}, ..., or {@code mbr-0xNN} / {@code gpt-<guid>} when unknown
 * @param name          the GPT partition name (may be empty), or empty on MBR
 * @param partitionGuid the GPT unique partition GUID, or null on MBR
 */
public record Partition(int index, long offset, long length, int mbrType, String typeGuid, String kind, String name,
        String partitionGuid) {
    /** The first byte after the partition. */
    public long end() {
        return offset + length;
    }
}
