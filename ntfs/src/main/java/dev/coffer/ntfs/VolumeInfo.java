package dev.coffer.ntfs;

/**
 * Facts about an NTFS volume. {@code serial} is the 64-bit serial from the boot sector;
 * {@code majorVersion.minorVersion} is the NTFS version from $Volume (3.1 for XP and later);
 * {@code clusterSize} and {@code mftRecordSize} are bytes; {@code dirty} is the $Volume dirty flag;
 * {@code hibernated} says hiberfil.sys holds a hibernation / Fast-Startup image, so Windows holds
 * unflushed state (the volume is still read as it lies on disk).
 */
public record VolumeInfo(String label, long serial, int majorVersion, int minorVersion, int sectorSize,
        int clusterSize, int mftRecordSize, int indexBlockSize, long totalClusters, long mftLcn,
        long mftMirrorLcn, boolean dirty, boolean hibernated) {
    /** The serial as Windows' {@code vol} prints it (low 32 bits, XXXX-XXXX). */
    public String shortSerial() {
        String h = String.format("%08X", serial & 0xFFFFFFFFL);
        return h.substring(0, 4) + "-" + h.substring(4);
    }

    /** The volume size in bytes covered by clusters. */
    public long sizeBytes() {
        return totalClusters * clusterSize;
    }
}
