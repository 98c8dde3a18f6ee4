package dev.coffer.agent.fs;

import dev.coffer.ntfs.NtfsException;
import dev.coffer.ntfs.VolumeSource;
import dev.coffer.vmdk.ByteSource;
import dev.coffer.vmdk.Partition;
import dev.coffer.vmdk.PartitionTable;
import dev.coffer.vmdk.UnsupportedImageException;
import dev.coffer.vmdk.VirtualDisk;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens a disk (any VMDK, else a raw image) and adapts the NTFS volume on it to the ntfs module's
 * {@link VolumeSource}: a bare volume image, partition {@code --partition N}, or the only NTFS
 * partition. Owns the disk; {@link #close()} closes it.
 */
public final class DiskVolumes implements Closeable {
    private static final long OEM_NTFS = 0x202020205346544EL; // "NTFS    " at byte 3 of the boot sector

    private final VirtualDisk disk;
    private final VolumeSource volume;
    private final String description;

    private DiskVolumes(VirtualDisk disk, VolumeSource volume, String description) {
        this.disk = disk;
        this.volume = volume;
        this.description = description;
    }

    /**
     * Opens {@code path}: a VMDK when it is one, otherwise a raw image; then the volume at byte 0
     * when it is NTFS, else partition {@code partition} (null: the only NTFS partition).
     */
    public static DiskVolumes open(Path path, Integer partition) throws IOException {
        VirtualDisk disk;
        try {
            disk = VirtualDisk.open(path);
        } catch (UnsupportedImageException notVmdk) {
            disk = VirtualDisk.openRaw(path);
        }
        boolean ok = false;
        try {
            DiskVolumes v = select(disk, path, partition);
            ok = true;
            return v;
        } finally {
            if (!ok) {
                disk.close();
            }
        }
    }

    private static DiskVolumes select(VirtualDisk disk, Path path, Integer partition) throws IOException {
        if (partition == null && isNtfs(disk, 0)) {
            return new DiskVolumes(disk, slice(disk, 0, disk.size()), path + " (volume image)");
        }
        List<Partition> parts = PartitionTable.read(disk, path.toString()).partitions();
        if (partition != null) {
            for (Partition p : parts) {
                if (p.index() == partition) {
                    return new DiskVolumes(disk, slice(disk, p.offset(), p.length()), path + " partition " + p.index());
                }
            }
            throw new NtfsException(path + ": no partition " + partition + " (partitions: " + indexes(parts) + ")");
        }
        List<Partition> ntfs = new ArrayList<>();
        for (Partition p : parts) {
            if (p.length() >= 512 && isNtfs(disk, p.offset())) {
                ntfs.add(p);
            }
        }
        if (ntfs.size() != 1) {
            throw new NtfsException(path + ": " + (ntfs.isEmpty() ? "no NTFS volume found" : ntfs.size()
                    + " NTFS partitions (" + indexes(ntfs) + "); choose one with --partition N"));
        }
        Partition p = ntfs.get(0);
        return new DiskVolumes(disk, slice(disk, p.offset(), p.length()), path + " partition " + p.index());
    }

    private static String indexes(List<Partition> parts) {
        List<String> s = new ArrayList<>();
        for (Partition p : parts) {
            s.add(p.index() + " " + p.kind());
        }
        return s.isEmpty() ? "none" : String.join(", ", s);
    }

    private static boolean isNtfs(ByteSource disk, long offset) throws IOException {
        if (offset + 512 > disk.size()) {
            return false;
        }
        ByteBuffer b = ByteBuffer.allocate(512).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        disk.read(offset, b);
        return b.getLong(3) == OEM_NTFS;
    }

    /** The byte range {@code [offset, offset + length)} of the disk as a volume source. */
    static VolumeSource slice(ByteSource disk, long offset, long length) {
        return new VolumeSource() {
            @Override
            public long size() {
                return length;
            }

            @Override
            public void read(long pos, ByteBuffer dst) throws IOException {
                if (pos < 0 || pos > length - dst.remaining()) {
                    throw new java.io.EOFException("read of " + dst.remaining() + " bytes at " + pos
                            + " past the volume's " + length + " bytes");
                }
                disk.read(offset + pos, dst);
            }
        };
    }

    /** The NTFS volume. */
    public VolumeSource volume() {
        return volume;
    }

    /** What was opened, e.g. "disk.vmdk partition 1". */
    public String description() {
        return description;
    }

    @Override
    public void close() throws IOException {
        disk.close();
    }
}
