package dev.coffer.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A FLAT or VMFS extent (and a plain raw image): the extent's bytes lie in one file from a fixed
 * start offset, every byte allocated. Sources: VMware Virtual Disk Format 5.0, "flat extents".
 */
final class FlatExtentReader implements ExtentReader {
    private final FileSource file;
    private final long start;
    private final long size;
    private final boolean ownsFile;

    FlatExtentReader(FileSource file, long start, long size, boolean ownsFile, long lineOffset, Path descriptor)
            throws VmdkException {
        long end = Math.addExact(start, size);
        if (end > file.size()) {
            try {
                if (ownsFile) {
                    file.close();
                }
            } catch (IOException ignored) {
                // the corruption is the error worth reporting
            }
            throw new CorruptImageException(file.path() + ": flat extent (" + descriptor + " at 0x"
                    + Long.toHexString(lineOffset) + ") needs 0x" + Long.toHexString(end)
                    + " bytes, file has 0x" + Long.toHexString(file.size()));
        }
        this.file = file;
        this.start = start;
        this.size = size;
        this.ownsFile = ownsFile;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public ExtentFile file() {
        return new ExtentFile(file.path(), false, file::lastRead);
    }

    @Override
    public long map(long offset, long maxLength) {
        return ExtentReader.run(DATA, Math.min(maxLength, size - offset));
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        file.read(start + offset, dst);
    }

    @Override
    public void transferTo(long offset, long length, java.nio.channels.WritableByteChannel out) throws IOException {
        file.transferTo(start + offset, length, out);
    }

    @Override
    public long grainSize() {
        return 0;
    }

    @Override
    public Path path() {
        return file.path();
    }

    @Override
    public String describe() {
        return "flat, data at 0x" + Long.toHexString(start);
    }

    @Override
    public void close() throws IOException {
        if (ownsFile) {
            file.close();
        }
    }
}
