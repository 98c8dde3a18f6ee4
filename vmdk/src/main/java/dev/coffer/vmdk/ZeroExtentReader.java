package dev.coffer.vmdk;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/** A ZERO extent: no file, every byte reads as zero (and is not looked up in a parent). */
final class ZeroExtentReader implements ExtentReader {
    private final long size;

    ZeroExtentReader(long size) {
        this.size = size;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public long map(long offset, long maxLength) {
        return ExtentReader.run(ZERO, Math.min(maxLength, size - offset));
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        throw new IllegalStateException("a ZERO extent has no DATA runs");
    }

    @Override
    public long grainSize() {
        return 0;
    }

    @Override
    public Path path() {
        return null;
    }

    @Override
    public String describe() {
        return "zero";
    }

    @Override
    public void close() {}
}
