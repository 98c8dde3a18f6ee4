package dev.coffer.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens one layer of a chain from a path: detects what the file is (hosted sparse, COWD, seSparse,
 * text descriptor) and opens every extent it names, confined to the descriptor's directory.
 */
final class LayerOpener {
    private LayerOpener() {}

    static Layer open(Path path) throws IOException {
        FileSource f = FileSource.open(path);
        boolean ok = false;
        try {
            Layer layer = openFrom(f);
            ok = true;
            return layer;
        } finally {
            if (!ok) {
                f.close();
            }
        }
    }

    /** Opens the layer in {@code f}; on success the layer owns {@code f} (or has closed it). */
    private static Layer openFrom(FileSource f) throws IOException {
        Path path = f.path();
        long size = f.size();
        ByteBuffer head = f.readBuffer(0, (int) Math.min(size, 8)).order(ByteOrder.LITTLE_ENDIAN);
        int magic = head.remaining() >= 4 ? head.getInt(0) : 0;
        if (magic == SparseHeader.MAGIC) {
            SparseHeader h = SparseExtentReader.readHeader(f);
            Descriptor d = embeddedDescriptor(f, h);
            if (h.capacitySectors() == 0 && d != null) {
                // a sparse file that only carries a descriptor for other extents
                Layer l = fromDescriptor(path, d);
                f.close();
                return l;
            }
            SparseExtentReader r = SparseExtentReader.open(f);
            String type = d != null ? d.createType() : r.compressed ? "streamOptimized" : "monolithicSparse";
            if (d != null && !Descriptor.FILE_BACKED.contains(type)) {
                throw new UnsupportedImageException(path + ": unknown createType \"" + type + "\"");
            }
            List<ExtentDescriptor> ext = d != null && d.extents().size() == 1 ? d.extents()
                    : List.of(new ExtentDescriptor("RW", r.size() / Limits.SECTOR, ExtentType.SPARSE,
                            path.getFileName().toString(), 0, 0));
            return new Layer(path, type, d, ext, List.of(r));
        }
        if (magic == CowdExtentReader.MAGIC) {
            CowdExtentReader r = CowdExtentReader.open(f);
            return new Layer(path, "vmfsSparse", null, List.of(new ExtentDescriptor("RW", r.size() / Limits.SECTOR,
                    ExtentType.VMFSSPARSE, path.getFileName().toString(), 0, 0)), List.of(r));
        }
        if (head.remaining() >= 8 && head.getLong(0) == SeSparseExtentReader.MAGIC) {
            SeSparseExtentReader r = SeSparseExtentReader.open(f);
            return new Layer(path, "seSparse", null, List.of(new ExtentDescriptor("RW", r.size() / Limits.SECTOR,
                    ExtentType.SESPARSE, path.getFileName().toString(), 0, 0)), List.of(r));
        }
        if (size > Limits.MAX_DESCRIPTOR_BYTES || size == 0) {
            throw new UnsupportedImageException(path + ": not a VMDK (no sparse header magic at 0x0, and "
                    + (size == 0 ? "empty" : "too large for a descriptor: " + size + " bytes") + ")");
        }
        byte[] text = new byte[(int) size];
        f.read(0, ByteBuffer.wrap(text));
        Descriptor d = Descriptor.parse(text, path, 0);
        Layer l = fromDescriptor(path, d);
        f.close();
        return l;
    }

    private static Descriptor embeddedDescriptor(FileSource f, SparseHeader h) throws IOException {
        if (h.descriptorSector() == 0 || h.descriptorSectors() == 0) {
            return null;
        }
        long at = h.descriptorSector() * Limits.SECTOR;
        long len = Math.min(h.descriptorSectors() * Limits.SECTOR, Limits.MAX_DESCRIPTOR_BYTES);
        if (at > f.size() || len > f.size() - at) {
            throw new CorruptImageException(Descriptor.where(f.path(), 0x1C) + ": embedded descriptor at 0x"
                    + Long.toHexString(at) + " of " + len + " bytes runs past the end of the file");
        }
        byte[] text = new byte[(int) len];
        f.read(at, ByteBuffer.wrap(text));
        return Descriptor.parse(text, f.path(), at);
    }

    private static Layer fromDescriptor(Path path, Descriptor d) throws IOException {
        if (d.extents().isEmpty()) {
            throw new CorruptImageException(path + ": descriptor lists no extents");
        }
        Path dir = directoryOf(path);
        List<ExtentReader> readers = new ArrayList<>();
        boolean ok = false;
        try {
            for (ExtentDescriptor e : d.extents()) {
                readers.add(openExtent(dir, d, e));
            }
            ok = true;
        } finally {
            if (!ok) {
                for (ExtentReader r : readers) {
                    try {
                        r.close();
                    } catch (IOException ignored) {
                        // the open failure is the error worth reporting
                    }
                }
            }
        }
        return new Layer(path, d.createType(), d, d.extents(), readers);
    }

    private static ExtentReader openExtent(Path dir, Descriptor d, ExtentDescriptor e) throws IOException {
        long want = e.sizeBytes();
        if (e.type() == ExtentType.ZERO) {
            return new ZeroExtentReader(want);
        }
        Path file = confine(dir, e.fileName(), d.file(), e.lineOffset(), "extent", false);
        FileSource f = FileSource.open(file);
        boolean ok = false;
        try {
            ExtentReader r = switch (e.type()) {
                case FLAT, VMFS -> new FlatExtentReader(f, Math.multiplyExact(e.offsetSectors(), Limits.SECTOR),
                        want, true, e.lineOffset(), d.file());
                case SPARSE, VMFSSPARSE -> {
                    int magic = f.size() >= 4 ? f.readBuffer(0, 4).getInt(0) : 0;
                    if (magic == SparseHeader.MAGIC) {
                        yield SparseExtentReader.open(f);
                    } else if (magic == CowdExtentReader.MAGIC) {
                        yield CowdExtentReader.open(f);
                    }
                    throw new CorruptImageException(file + " at 0x0: " + e.type()
                            + " extent has neither KDMV nor COWD magic, found 0x" + Integer.toHexString(magic));
                }
                case SESPARSE -> SeSparseExtentReader.open(f);
                default -> throw new UnsupportedImageException(Descriptor.where(d.file(), e.lineOffset())
                        + ": extent type " + e.type() + " is not a file-backed disk");
            };
            if (r.size() < want) {
                r.close();
                throw new CorruptImageException(Descriptor.where(d.file(), e.lineOffset()) + ": extent "
                        + file.getFileName() + " holds " + r.size() + " bytes, the descriptor says " + want);
            }
            ok = true;
            return r.size() == want ? r : new TruncatedExtent(r, want);
        } finally {
            if (!ok) {
                f.close();
            }
        }
    }

    static Path directoryOf(Path path) {
        Path abs = path.toAbsolutePath().normalize();
        Path dir = abs.getParent();
        return dir != null ? dir : abs;
    }

    /**
     * Resolves a file name taken from a descriptor so that it stays inside {@code dir}: relative
     * names may go into subdirectories but never above; symlinks are followed and must stay inside
     * too. With {@code basenameIfAbsolute} an absolute name (ESXi writes parents as
     * {@code /vmfs/volumes/...}) is looked up by its last component in {@code dir}; otherwise an
     * absolute name is refused.
     */
    static Path confine(Path dir, String name, Path descriptor, long at, String what, boolean basenameIfAbsolute)
            throws IOException {
        if (name.indexOf('\0') >= 0 || name.isBlank()) {
            throw new CorruptImageException(Descriptor.where(descriptor, at) + ": " + what
                    + " file name is empty or holds a NUL");
        }
        String n = name;
        boolean absolute = n.startsWith("/") || n.startsWith("\\") || (n.length() > 1 && n.charAt(1) == ':');
        if (absolute) {
            if (!basenameIfAbsolute) {
                throw new CorruptImageException(Descriptor.where(descriptor, at) + ": " + what + " \""
                        + Descriptor.printable(name) + "\" is an absolute path; extents must lie beside the descriptor");
            }
            n = n.substring(Math.max(n.lastIndexOf('/'), n.lastIndexOf('\\')) + 1);
        }
        n = n.replace('\\', '/');
        Path p;
        try {
            p = dir.resolve(n).normalize();
        } catch (InvalidPathException e) {
            throw new CorruptImageException(Descriptor.where(descriptor, at) + ": " + what + " name \""
                    + Descriptor.printable(name) + "\" is not a valid path");
        }
        if (!p.startsWith(dir) || p.equals(dir)) {
            throw new CorruptImageException(Descriptor.where(descriptor, at) + ": " + what + " \""
                    + Descriptor.printable(name) + "\" leaves the descriptor's directory " + dir);
        }
        if (!Files.exists(p)) {
            throw new NoSuchFileException(p.toString(), null, what + " named by " + descriptor + " at 0x"
                    + Long.toHexString(at));
        }
        Path real = p.toRealPath();
        Path realDir = dir.toRealPath();
        if (!real.startsWith(realDir)) {
            throw new CorruptImageException(Descriptor.where(descriptor, at) + ": " + what + " \""
                    + Descriptor.printable(name) + "\" is a link that leaves the descriptor's directory " + dir);
        }
        if (!Files.isRegularFile(real)) {
            throw new UnsupportedImageException(real + ": " + what + " named by " + descriptor
                    + " is not a regular file (a device is not a file-backed disk)");
        }
        return p;
    }

    /** An extent reader limited to the descriptor's stated size when the file holds more. */
    private static final class TruncatedExtent implements ExtentReader {
        private final ExtentReader inner;
        private final long size;

        TruncatedExtent(ExtentReader inner, long size) {
            this.inner = inner;
            this.size = size;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public long map(long offset, long maxLength) throws IOException {
            return inner.map(offset, Math.min(maxLength, size - offset));
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            inner.read(offset, dst);
        }

        @Override
        public void transferTo(long offset, long length, java.nio.channels.WritableByteChannel out)
                throws IOException {
            inner.transferTo(offset, length, out);
        }

        @Override
        public boolean compressed() {
            return inner.compressed();
        }

        @Override
        public long grainSize() {
            return inner.grainSize();
        }

        @Override
        public Path path() {
            return inner.path();
        }

        @Override
        public String describe() {
            return inner.describe() + ", first " + size + " bytes used";
        }

        @Override
        public void close() throws IOException {
            inner.close();
        }
    }
}
