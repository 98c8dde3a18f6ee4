package dev.coffer.vmdk;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A virtual disk opened for reading: one VMDK (any subformat) with its whole snapshot chain, or a
 * plain raw image, seen as one random-access range of {@link #size()} bytes.
 *
 * <p>Reads go to the leaf first; a grain the leaf does not hold falls through to its parent, and so
 * on; a grain no layer holds reads as zeros. Every method is safe to call from many threads at once.
 */
public final class VirtualDisk implements ByteSource, Closeable {
    private static final byte[] ZEROS = new byte[64 * 1024];
    /** Shared, never written: duplicates of it are handed to channels as a source of zeros. */
    private static final ByteBuffer ZERO_BUFFER = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

    private final List<Layer> chain;
    private final Layer[] layers;
    private final long size;

    private VirtualDisk(List<Layer> chain) {
        this.chain = List.copyOf(chain);
        this.layers = chain.toArray(Layer[]::new);
        this.size = layers[0].size();
    }

    /**
     * Opens any VMDK: a text descriptor with its extents, a monolithic sparse or streamOptimized file,
     * a COWD or seSparse file. A snapshot delta opens its whole chain through
     * {@code parentFileNameHint}, each parent checked against the child's {@code parentCID}.
     *
     * @throws UnsupportedImageException for a file that is not a VMDK ("not a VMDK") or a raw-device disk
     * @throws CorruptImageException for damaged or inconsistent files (the message names file and offset)
     */
    public static VirtualDisk open(Path path) throws IOException {
        List<Layer> chain = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        boolean ok = false;
        try {
            Layer layer = LayerOpener.open(path);
            chain.add(layer);
            seen.add(path.toRealPath());
            while (layer.parentCid() != Descriptor.NO_PARENT || layer.descriptor()
                    .flatMap(Descriptor::parentFileNameHint).isPresent()) {
                Descriptor d = layer.descriptor().orElseThrow();
                String hint = d.parentFileNameHint().orElse(null);
                if (hint == null) {
                    throw new CorruptImageException(d.file() + ": parentCID is "
                            + Long.toHexString(d.parentCid()) + " but there is no parentFileNameHint");
                }
                if (chain.size() >= Limits.MAX_CHAIN_DEPTH) {
                    throw new LimitExceededImageException(d.file() + ": snapshot chain deeper than "
                            + Limits.MAX_CHAIN_DEPTH + " layers");
                }
                Path parentPath = LayerOpener.confine(LayerOpener.directoryOf(layer.path()), hint, d.file(),
                        d.fileOffset(), "parent", true);
                if (!seen.add(parentPath.toRealPath())) {
                    throw new CorruptImageException(d.file() + ": parentFileNameHint \"" + Descriptor.printable(hint)
                            + "\" loops back to " + parentPath + ", already in the chain");
                }
                Layer parent = LayerOpener.open(parentPath);
                chain.add(parent);
                if (parent.cid() != d.parentCid()) {
                    throw new CorruptImageException(d.file() + ": parentCID " + String.format("%08x", d.parentCid())
                            + " does not match CID " + String.format("%08x", parent.cid()) + " of its parent "
                            + parentPath + " (the parent changed after the snapshot was taken)");
                }
                layer = parent;
            }
            ok = true;
            return new VirtualDisk(chain);
        } finally {
            if (!ok) {
                closeAll(chain);
            }
        }
    }

    /** Opens a plain raw disk image as a one-layer disk (createType {@code raw}). */
    public static VirtualDisk openRaw(Path path) throws IOException {
        FileSource f = FileSource.open(path);
        ExtentReader r = new FlatExtentReader(f, 0, f.size(), true, 0, path);
        Layer l = new Layer(path, "raw", null, List.of(new ExtentDescriptor("RW", (f.size() + 511) / 512,
                ExtentType.FLAT, path.getFileName().toString(), 0, 0)), List.of(r));
        return new VirtualDisk(List.of(l));
    }

    /** The capacity in bytes: the leaf's size. */
    @Override
    public long size() {
        return size;
    }

    /** The chain, leaf first; a disk without snapshots has one layer. */
    public List<Layer> chain() {
        return chain;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        if (offset < 0 || offset > size - dst.remaining()) {
            throw new CorruptImageException(layers[0].path() + ": read of " + dst.remaining() + " bytes at 0x"
                    + Long.toHexString(offset) + " is past the virtual disk's end (0x" + Long.toHexString(size) + ")");
        }
        readFrom(0, offset, dst);
    }

    private void readFrom(int level, long offset, ByteBuffer dst) throws IOException {
        if (level == layers.length) {
            zero(dst);
            return;
        }
        Layer l = layers[level];
        while (dst.hasRemaining()) {
            if (offset >= l.size()) {
                zero(dst); // a parent smaller than its child reads as zeros past its end
                return;
            }
            long run = l.map(offset, Math.min(dst.remaining(), l.size() - offset));
            int n = (int) ExtentReader.lengthOf(run);
            int lim = dst.limit();
            dst.limit(dst.position() + n);
            switch (ExtentReader.kindOf(run)) {
                case ExtentReader.DATA -> l.read(offset, dst);
                case ExtentReader.ZERO -> zero(dst);
                default -> readFrom(level + 1, offset, dst);
            }
            dst.limit(lim);
            offset += n;
        }
    }

    private static void zero(ByteBuffer dst) {
        while (dst.hasRemaining()) {
            dst.put(ZEROS, 0, Math.min(ZEROS.length, dst.remaining()));
        }
    }

    /**
     * Writes the bytes of {@code [offset, offset + length)} to {@code out}, in order: stored,
     * uncompressed bytes go straight from their file with {@link java.nio.channels.FileChannel#transferTo}
     * (no copy through the JVM where the OS can: sendfile/splice/copy_file_range), compressed grains
     * are inflated, and zeros are written from a shared zero buffer. Not for concurrent use on one
     * {@code out}; the disk itself stays safe for other readers.
     */
    public void transferTo(long offset, long length, WritableByteChannel out) throws IOException {
        checkRange(offset, length);
        transferFrom(0, offset, length, out);
    }

    private void transferFrom(int level, long offset, long length, WritableByteChannel out) throws IOException {
        if (level == layers.length) {
            writeZeros(length, out);
            return;
        }
        Layer l = layers[level];
        long end = offset + length;
        while (offset < end) {
            if (offset >= l.size()) {
                writeZeros(end - offset, out);
                return;
            }
            long run = l.map(offset, Math.min(end, l.size()) - offset);
            long n = ExtentReader.lengthOf(run);
            switch (ExtentReader.kindOf(run)) {
                case ExtentReader.DATA -> l.transferTo(offset, n, out);
                case ExtentReader.ZERO -> writeZeros(n, out);
                default -> transferFrom(level + 1, offset, n, out);
            }
            offset += n;
        }
    }

    private static void writeZeros(long length, WritableByteChannel out) throws IOException {
        while (length > 0) {
            ByteBuffer z = ZERO_BUFFER.duplicate();
            z.limit((int) Math.min(z.capacity(), length));
            length -= z.remaining();
            while (z.hasRemaining()) {
                out.write(z);
            }
        }
    }

    /** Which layer decides each byte of {@code [offset, offset + length)}, adjacent equal ranges merged. */
    public List<AllocatedRange> allocation(long offset, long length) throws IOException {
        checkRange(offset, length);
        List<AllocatedRange> out = new ArrayList<>();
        allocationFrom(0, offset, length, out, false);
        return out;
    }

    /**
     * What the leaf alone stores in {@code [offset, offset + length)}: DATA and ZERO ranges (layer 0)
     * and UNALLOCATED ranges (layer -1) that fall through to the parents. This is what an incremental
     * backup of a snapshot delta reads.
     */
    public List<AllocatedRange> leafAllocation(long offset, long length) throws IOException {
        checkRange(offset, length);
        List<AllocatedRange> out = new ArrayList<>();
        allocationFrom(0, offset, length, out, true);
        return out;
    }

    private void checkRange(long offset, long length) throws VmdkException {
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new CorruptImageException(layers[0].path() + ": range 0x" + Long.toHexString(offset) + "+0x"
                    + Long.toHexString(length) + " is outside the virtual disk (0x" + Long.toHexString(size) + ")");
        }
    }

    private void allocationFrom(int level, long offset, long length, List<AllocatedRange> out, boolean leafOnly)
            throws IOException {
        if (level == layers.length || (leafOnly && level > 0)) {
            add(out, new AllocatedRange(offset, length, -1, AllocatedRange.Kind.UNALLOCATED));
            return;
        }
        Layer l = layers[level];
        long end = offset + length;
        while (offset < end) {
            if (offset >= l.size()) {
                add(out, new AllocatedRange(offset, end - offset, -1, AllocatedRange.Kind.UNALLOCATED));
                return;
            }
            long run = l.map(offset, Math.min(end, l.size()) - offset);
            long n = ExtentReader.lengthOf(run);
            switch (ExtentReader.kindOf(run)) {
                case ExtentReader.DATA -> add(out, new AllocatedRange(offset, n, level, AllocatedRange.Kind.DATA));
                case ExtentReader.ZERO -> add(out, new AllocatedRange(offset, n, level, AllocatedRange.Kind.ZERO));
                default -> allocationFrom(level + 1, offset, n, out, leafOnly);
            }
            offset += n;
        }
    }

    private static void add(List<AllocatedRange> out, AllocatedRange r) {
        if (!out.isEmpty()) {
            AllocatedRange last = out.get(out.size() - 1);
            if (last.end() == r.offset() && last.layer() == r.layer() && last.kind() == r.kind()) {
                out.set(out.size() - 1, new AllocatedRange(last.offset(), last.length() + r.length(), r.layer(),
                        r.kind()));
                return;
            }
        }
        out.add(r);
    }

    @Override
    public void close() throws IOException {
        closeAll(chain);
    }

    private static void closeAll(List<Layer> layers) throws IOException {
        IOException first = null;
        for (Layer l : layers) {
            try {
                l.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
