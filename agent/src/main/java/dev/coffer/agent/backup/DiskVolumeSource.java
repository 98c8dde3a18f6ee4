package dev.coffer.agent.backup;

import dev.coffer.ntfs.VolumeSource;
import dev.coffer.vmdk.ByteSource;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A partition of a virtual disk as the NTFS reader's byte source: byte 0 is the partition's first
 * byte, and reads never leave the partition. This adapter is the only place the two libraries meet.
 */
public final class DiskVolumeSource implements VolumeSource {
    private final ByteSource disk;
    private final long offset;
    private final long length;

    /** The {@code length} bytes of {@code disk} starting at {@code offset}. */
    public DiskVolumeSource(ByteSource disk, long offset, long length) {
        if (offset < 0 || length < 0 || offset > disk.size() - length) {
            throw new IllegalArgumentException("partition at " + offset + "+" + length + " outside a disk of "
                    + disk.size() + " bytes");
        }
        this.disk = disk;
        this.offset = offset;
        this.length = length;
    }

    @Override
    public long size() {
        return length;
    }

    @Override
    public void read(long at, ByteBuffer dst) throws IOException {
        if (at < 0 || at > length - dst.remaining()) {
            throw new EOFException("read of " + dst.remaining() + " bytes at " + at + " past the end of a "
                    + length + "-byte volume");
        }
        disk.read(offset + at, dst);
    }
}
