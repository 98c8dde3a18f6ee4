package dev.coffer.agent.rebuild;

import dev.coffer.dedup.Destination;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.Deflater;

/**
 * Writes a backed-up disk front to back as it is produced, so the output can be a pipe or an HTTP
 * response that starts at once: either every byte of the disk (raw), or a streamOptimized VMDK.
 *
 * <p>The VMDK follows VMware's "Virtual Disk Format 5.0" for stream-optimized sparse extents (as
 * qemu's {@code block/vmdk.c} also reads them): a version-3 header whose grain directory offset is
 * {@code GD_AT_END}, the embedded descriptor, then for each grain holding data a grain marker
 * (virtual LBA, compressed length) and the zlib-compressed grain; each grain table follows its
 * grains behind a GT marker; the grain directory, a footer (a header copy pointing at the
 * directory) and an end-of-stream marker close the file. All-zero grains are not written.
 */
public final class DiskExport {
    private static final int SECTOR = VmdkHeaders.SECTOR;
    private static final int GRAIN_SECTORS = VmdkHeaders.GRAIN_SECTORS;
    private static final int GRAIN = GRAIN_SECTORS * SECTOR;
    private static final int GTES_PER_GT = VmdkHeaders.GTES_PER_GT;
    private static final long GD_AT_END = 0xFFFFFFFFFFFFFFFFL;
    /** Flags: valid newline test, compressed grains, markers. */
    private static final int FLAGS = 0x1 | 0x10000 | 0x20000;
    private static final int MARKER_EOS = 0;
    private static final int MARKER_GT = 1;
    private static final int MARKER_GD = 2;
    private static final int MARKER_FOOTER = 3;

    private final DiskLayout layout;
    private final DiskBytes bytes;
    private long written;

    public DiskExport(Destination destination, DiskLayout layout) {
        this.layout = layout;
        this.bytes = new DiskBytes(destination, layout);
    }

    /** Bytes written to the output so far. */
    public long written() {
        return written;
    }

    /** Writes every byte of the disk, zeros where the backup holds nothing. */
    public void writeRaw(OutputStream out) throws IOException {
        byte[] buf = new byte[1 << 20];
        for (long at = 0; at < layout.capacity(); at += buf.length) {
            int n = (int) Math.min(buf.length, layout.capacity() - at);
            bytes.fill(buf, at, n);
            out.write(buf, 0, n);
            written += n;
        }
        out.flush();
    }

    /**
     * Writes the disk as a streamOptimized VMDK named {@code name} in its descriptor. Returns the
     * number of grains written.
     */
    public long writeStreamOptimized(OutputStream out, String name) throws IOException {
        long capacitySectors = (layout.capacity() + SECTOR - 1) / SECTOR;
        long grains = (capacitySectors + GRAIN_SECTORS - 1) / GRAIN_SECTORS;
        int gtCount = (int) ((grains + GTES_PER_GT - 1) / GTES_PER_GT);
        byte[] descriptor = VmdkHeaders.descriptor("streamOptimized", capacitySectors, name, "ddb.toolsVersion = \"0\"\n");
        long descriptorSectors = (descriptor.length + SECTOR - 1) / SECTOR;
        long overhead = 1 + descriptorSectors;
        Sink sink = new Sink(out);
        sink.write(header(capacitySectors, descriptorSectors, overhead, GD_AT_END));
        sink.write(descriptor);
        sink.pad();

        long[] gd = new long[gtCount];
        int[] gt = new int[GTES_PER_GT];
        int currentGt = -1;
        boolean gtUsed = false;
        byte[] grain = new byte[GRAIN];
        byte[] packed = new byte[GRAIN + GRAIN / 10 + 64];
        Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        long count = 0;
        try {
            for (long g = nextGrainWithData(0, grains); g < grains; g = nextGrainWithData(g + 1, grains)) {
                int t = (int) (g / GTES_PER_GT);
                if (t != currentGt) {
                    if (gtUsed) {
                        gd[currentGt] = writeTable(sink, MARKER_GT, gt);
                    }
                    java.util.Arrays.fill(gt, 0);
                    currentGt = t;
                    gtUsed = false;
                }
                long at = g * GRAIN;
                int n = (int) Math.min(GRAIN, layout.capacity() - at);
                java.util.Arrays.fill(grain, (byte) 0);
                bytes.fill(grain, at, n);
                if (allZero(grain)) {
                    continue;
                }
                deflater.reset();
                deflater.setInput(grain, 0, GRAIN);
                deflater.finish();
                int len = 0;
                while (!deflater.finished()) {
                    len += deflater.deflate(packed, len, packed.length - len);
                }
                long sector = sink.sector();
                ByteBuffer m = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
                m.putLong(g * GRAIN_SECTORS).putInt(len);
                sink.write(m.array());
                sink.write(packed, 0, len);
                sink.pad();
                gt[(int) (g % GTES_PER_GT)] = Math.toIntExact(sector);
                gtUsed = true;
                count++;
            }
        } finally {
            deflater.end();
        }
        if (gtUsed) {
            gd[currentGt] = writeTable(sink, MARKER_GT, gt);
        }
        int[] gdEntries = new int[gtCount];
        for (int i = 0; i < gtCount; i++) {
            gdEntries[i] = Math.toIntExact(gd[i]);
        }
        long gdSector = writeTable(sink, MARKER_GD, gdEntries);
        sink.write(marker(1, MARKER_FOOTER));
        sink.write(header(capacitySectors, descriptorSectors, overhead, gdSector));
        sink.write(marker(0, MARKER_EOS));
        out.flush();
        written = sink.position;
        return count;
    }

    /** The first grain at or after {@code g} that some span touches, or {@code grains}. */
    private long nextGrainWithData(long g, long grains) {
        for (DiskLayout.Span s : layout.spans(g * GRAIN, layout.capacity())) {
            long last = (s.diskOffset() + s.length() - 1) / GRAIN;
            if (last >= g) {
                return Math.max(g, s.diskOffset() / GRAIN);
            }
        }
        return grains;
    }

    /** Writes a GT or GD: its marker then its entries padded to whole sectors; returns the entries' sector. */
    private static long writeTable(Sink sink, int type, int[] entries) throws IOException {
        long sectors = ((long) entries.length * 4 + SECTOR - 1) / SECTOR;
        sink.write(marker(sectors, type));
        long at = sink.sector();
        ByteBuffer b = ByteBuffer.allocate((int) (sectors * SECTOR)).order(ByteOrder.LITTLE_ENDIAN);
        for (int e : entries) {
            b.putInt(e);
        }
        sink.write(b.array());
        return at;
    }

    private static byte[] marker(long numSectors, int type) {
        ByteBuffer m = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        m.putLong(numSectors).putInt(0).putInt(type);
        return m.array();
    }

    private static byte[] header(long capacitySectors, long descriptorSectors, long overhead, long gdOffset) {
        return VmdkHeaders.header(3, FLAGS, capacitySectors, descriptorSectors, 0, gdOffset, overhead, 1); // deflate
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    /** Counts what it writes so file offsets are known in sectors. */
    private static final class Sink {
        private final OutputStream out;
        long position;

        Sink(OutputStream out) {
            this.out = out;
        }

        void write(byte[] b) throws IOException {
            write(b, 0, b.length);
        }

        void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            position += len;
        }

        void pad() throws IOException {
            int rest = (int) (position % SECTOR);
            if (rest != 0) {
                write(new byte[SECTOR - rest]);
            }
        }

        long sector() {
            return position / SECTOR;
        }
    }
}
