package dev.coffer.vmdk;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * One disk of a snapshot chain: its descriptor (when it has one) and the extents that store its
 * bytes, concatenated in descriptor order. Thread-safe for reads.
 */
public final class Layer implements Closeable {
    private final Path path;
    private final String createType;
    private final Descriptor descriptor;
    private final List<ExtentDescriptor> extents;
    private final ExtentReader[] readers;
    private final long[] starts;
    private final long size;

    Layer(Path path, String createType, Descriptor descriptor, List<ExtentDescriptor> extents,
            List<ExtentReader> readers) {
        this.path = path;
        this.createType = createType;
        this.descriptor = descriptor;
        this.extents = List.copyOf(extents);
        this.readers = readers.toArray(ExtentReader[]::new);
        this.starts = new long[this.readers.length];
        long at = 0;
        for (int i = 0; i < this.readers.length; i++) {
            starts[i] = at;
            at = Math.addExact(at, this.readers[i].size());
        }
        this.size = at;
    }

    /** The file this layer was opened from (descriptor, or the sparse file holding it). */
    public Path path() {
        return path;
    }

    /** The disk's createType ({@code monolithicSparse}, {@code vmfs}, ...; {@code raw} for a raw image). */
    public String createType() {
        return createType;
    }

    /** The descriptor, absent for a raw image or a bare COWD/seSparse file. */
    public Optional<Descriptor> descriptor() {
        return Optional.ofNullable(descriptor);
    }

    /** The content ID (CID) from the descriptor, or {@code 0} without one. */
    public long cid() {
        return descriptor == null ? 0 : descriptor.cid();
    }

    /** The parent's content ID, or {@link Descriptor#NO_PARENT}. */
    public long parentCid() {
        return descriptor == null ? Descriptor.NO_PARENT : descriptor.parentCid();
    }

    /** The extents in order, as the descriptor lists them (one synthesized entry when there is none). */
    public List<ExtentDescriptor> extents() {
        return extents;
    }

    /**
     * The files the layer's bytes are read from, in extent order, each once (none for ZERO extents); a
     * file several extents share reports the furthest of their most recent reads.
     */
    public List<ExtentFile> extentFiles() {
        java.util.Map<Path, List<ExtentFile>> byPath = new java.util.LinkedHashMap<>();
        for (ExtentReader r : readers) {
            ExtentFile f = r.file();
            if (f != null) {
                byPath.computeIfAbsent(f.path(), p -> new java.util.ArrayList<>()).add(f);
            }
        }
        List<ExtentFile> files = new java.util.ArrayList<>();
        for (List<ExtentFile> same : byPath.values()) {
            if (same.size() == 1) {
                files.add(same.get(0));
                continue;
            }
            boolean grained = same.stream().anyMatch(ExtentFile::grained);
            files.add(new ExtentFile(same.get(0).path(), grained,
                    () -> same.stream().mapToLong(f -> f.lastRead().getAsLong()).max().orElse(0)));
        }
        return files;
    }

    /** The layer's length in bytes (sum of its extents). */
    public long size() {
        return size;
    }

    /** The grain size in bytes of the layer's first grained extent, 0 when every extent is flat. */
    public long grainSize() {
        for (ExtentReader r : readers) {
            if (r.grainSize() > 0) {
                return r.grainSize();
            }
        }
        return 0;
    }

    /** One line per extent describing its format and header values (for {@code image info}). */
    public List<String> extentDetails() {
        return Arrays.stream(readers).map(r -> (r.path() == null ? "-" : r.path().getFileName()) + ": "
                + r.describe()).toList();
    }

    /** True when some extent stores deflate-compressed grains (streamOptimized): reading costs CPU. */
    public boolean compressed() {
        for (ExtentReader r : readers) {
            if (r.compressed()) {
                return true;
            }
        }
        return false;
    }

    /** Bytes this layer stores (DATA), excluding zeroed and unallocated grains. Scans the grain tables. */
    public long allocatedBytes() throws IOException {
        long total = 0;
        for (long pos = 0; pos < size; ) {
            long run = map(pos, size - pos);
            if (ExtentReader.kindOf(run) == ExtentReader.DATA) {
                total += ExtentReader.lengthOf(run);
            }
            pos += ExtentReader.lengthOf(run);
        }
        return total;
    }

    private int extentAt(long offset) {
        int i = Arrays.binarySearch(starts, offset);
        return i >= 0 ? i : -i - 2;
    }

    /** The kind and run length at {@code offset} (within this layer), as {@link ExtentReader#map}. */
    long map(long offset, long maxLength) throws IOException {
        int i = extentAt(offset);
        long in = offset - starts[i];
        ExtentReader r = readers[i];
        return r.map(in, Math.min(maxLength, r.size() - in));
    }

    /** Reads DATA bytes (as {@link #map} reported them) into all of {@code dst}. */
    void read(long offset, ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
            int i = extentAt(offset);
            long in = offset - starts[i];
            ExtentReader r = readers[i];
            int n = (int) Math.min(dst.remaining(), r.size() - in);
            int lim = dst.limit();
            dst.limit(dst.position() + n);
            r.read(in, dst);
            dst.limit(lim);
            offset += n;
        }
    }

    /** Writes DATA bytes (as {@link #map} reported them) to {@code out}. */
    void transferTo(long offset, long length, java.nio.channels.WritableByteChannel out) throws IOException {
        while (length > 0) {
            int i = extentAt(offset);
            long in = offset - starts[i];
            ExtentReader r = readers[i];
            long n = Math.min(length, r.size() - in);
            r.transferTo(in, n, out);
            offset += n;
            length -= n;
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (ExtentReader r : readers) {
            try {
                r.close();
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

    @Override
    public String toString() {
        return path + " (" + createType + ")";
    }
}
