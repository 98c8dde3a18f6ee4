package dev.coffer.dedup;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Appends records to the end of the store's current pack file; used by the writer thread only.
 *
 * <p>Where the file system has direct I/O, records are gathered in an aligned buffer and written past
 * the page cache ({@code O_DIRECT}), a whole number of file-system blocks at a time, starting at the
 * aligned block that holds the end of what is on disk. The partial block at the end stays in the
 * buffer, and the next write rewrites it from its start. {@link #force} writes that block padded with
 * zeros, cuts the file back to the records' end, then fsyncs. A crash between the two leaves zeros
 * after the last record, which recovery reads as a torn tail and cuts (docs/store.md, "Writing packs").
 *
 * <p>Why: a backup writes hundreds of megabytes of packs it will not read again soon. Through the page
 * cache the kernel copied each byte into a freshly allocated page (on the test VM ~0.9 s of a full
 * backup's CPU for 625 MB, most of it first touches of pages the host had reclaimed), and those pages
 * then pushed out what the controller's own workload had cached. Where direct I/O is not available
 * (tmpfs, some network file systems), or is turned off ({@link StoreOptions#bufferedPackWrites}), records
 * are written through the page cache as before.
 */
final class PackAppender implements Closeable {
    /**
     * Bytes gathered before a direct write: 4 MiB, a few records of the largest block size. Each write
     * waits for the disk (~2.5 ms at 1.6 GB/s here), on the writer thread only.
     */
    static final int STAGE_BYTES = 4 << 20;

    private final Path file;
    /** Buffered: the header, reads of the tail, truncation and fsync. */
    private final FileChannel channel;
    /**
     * Opened with {@code O_DIRECT}, or null when records go through {@link #channel} (from the start, or
     * since a direct write failed: see {@link #toBuffered}).
     */
    private FileChannel direct;
    /** Alignment of a direct write's buffer address, file offset and length: the file system's block size. */
    private final int align;
    /** Direct mode: the file's bytes from {@link #stageStart} up to {@link #end}, aligned in memory. */
    private final ByteBuffer stage;
    private long stageStart;
    /** The end of the last record appended. */
    private long end;
    /** Buffered mode: where the channel's position is, or -1 when not known. */
    private long position = -1;

    private PackAppender(Path file, FileChannel channel, FileChannel direct, int align) {
        this.file = file;
        this.channel = channel;
        this.direct = direct;
        this.align = align;
        this.stage = direct == null ? null
                : ByteBuffer.allocateDirect(STAGE_BYTES + 3 * align).alignedSlice(align).limit(STAGE_BYTES + align);
    }

    /**
     * Opens {@code file} (which exists, with at least its header) for appending at {@code end}, with direct
     * writes unless {@code buffered} or the file system refuses them. Takes ownership of {@code channel}.
     */
    static PackAppender open(Path file, FileChannel channel, long end, boolean buffered) throws IOException {
        FileChannel direct = null;
        int align = 0;
        if (!buffered) {
            try {
                align = Math.toIntExact(Files.getFileStore(file).getBlockSize());
                if (align > 0 && align <= STAGE_BYTES && Integer.bitCount(align) == 1) {
                    direct = FileChannel.open(file, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
                }
            } catch (IOException | UnsupportedOperationException | ArithmeticException e) {
                direct = null; // no direct I/O here (EINVAL on tmpfs): through the page cache
            }
        }
        PackAppender a = new PackAppender(file, channel, direct, direct == null ? 0 : align);
        try {
            a.reset(end);
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
        return a;
    }

    /** Whether records bypass the page cache. */
    boolean direct() {
        return direct != null;
    }

    /** The end of the last record appended (the pack's logical size). */
    long end() {
        return end;
    }

    /** Appends {@code parts} at {@link #end()}. */
    void append(ByteBuffer[] parts) throws IOException {
        if (direct == null) {
            appendBuffered(parts);
            return;
        }
        for (int i = 0; i < parts.length; i++) {
            ByteBuffer src = parts[i].duplicate();
            while (src.hasRemaining()) {
                if (!stage.hasRemaining()) {
                    writeFullBlocks();
                    if (direct == null) { // fell back: the rest through the page cache
                        ByteBuffer[] rest = new ByteBuffer[parts.length - i];
                        rest[0] = src;
                        System.arraycopy(parts, i + 1, rest, 1, parts.length - i - 1);
                        appendBuffered(rest);
                        return;
                    }
                }
                int n = Math.min(src.remaining(), stage.remaining());
                int lim = src.limit();
                src.limit(src.position() + n);
                stage.put(src);
                src.limit(lim);
                end += n;
            }
        }
    }

    private void appendBuffered(ByteBuffer[] parts) throws IOException {
        long want = 0;
        ByteBuffer[] copies = new ByteBuffer[parts.length];
        for (int i = 0; i < parts.length; i++) {
            copies[i] = parts[i].duplicate();
            want += copies[i].remaining();
        }
        long pos = end;
        long stop = end + want;
        while (pos < stop) {
            if (position != pos) { // a seek per record was a system call each, ~3 µs here
                channel.position(pos);
            }
            position = -1; // until the write returns
            pos += channel.write(copies);
            position = pos;
        }
        end = stop;
    }

    /**
     * Writes every whole block gathered so far and keeps the partial one at the start of the stage.
     * The stage is never empty of room afterwards: it holds less than one block.
     */
    private void writeFullBlocks() throws IOException {
        int gathered = stage.position();
        int whole = gathered / align * align;
        if (whole == 0) {
            return;
        }
        writeStage(whole);
        if (direct != null) {
            keepTail(whole, gathered);
        }
    }

    /** Writes the stage's first {@code length} bytes (a multiple of the alignment) at {@link #stageStart}. */
    private void writeStage(int length) throws IOException {
        ByteBuffer out = stage.duplicate().position(0).limit(length);
        long pos = stageStart;
        try {
            while (out.hasRemaining()) {
                pos += direct.write(out, pos);
            }
        } catch (IOException e) {
            toBuffered();
        }
    }

    /**
     * After a direct write failed (a file system that opens with {@code O_DIRECT} but refuses the writes),
     * writes what the stage holds through the page cache and appends that way from now on. A failure of
     * the disk itself fails this write too, and the batch with it.
     */
    private void toBuffered() throws IOException {
        FileChannel d = direct;
        direct = null;
        try {
            d.close();
        } catch (IOException ignored) {
            // it was only for writing
        }
        ByteBuffer out = stage.duplicate().position(0).limit(stage.position());
        long pos = stageStart;
        while (out.hasRemaining()) {
            pos += channel.write(out, pos);
        }
        position = -1;
    }

    /**
     * Moves the stage's bytes {@code [from, to)} to its start, {@code from} bytes further into the file;
     * {@code from} is a multiple of the alignment and {@code to - from} less than one block, so the two
     * ranges never overlap.
     */
    private void keepTail(int from, int to) {
        if (from == 0) {
            stage.limit(STAGE_BYTES + align).position(to);
            return;
        }
        ByteBuffer tail = stage.duplicate().position(from).limit(to);
        stage.clear().limit(STAGE_BYTES + align);
        stage.put(tail);
        stageStart += from;
    }

    /**
     * Puts everything appended on stable storage: the partial last block is written padded with zeros,
     * the file cut back to {@link #end()}, then fsynced (data and size).
     */
    void force() throws IOException {
        if (direct != null) {
            int gathered = stage.position();
            if (gathered > 0) {
                int padded = (gathered + align - 1) / align * align;
                for (int i = gathered; i < padded; i++) {
                    stage.put(i, (byte) 0);
                }
                writeStage(padded);
                if (channel.size() > end) {
                    channel.truncate(end);
                }
                if (direct != null) {
                    keepTail(gathered / align * align, gathered);
                }
            }
        }
        channel.force(false);
    }

    /**
     * Cuts the file to {@code length} (dropping records appended since the last {@link #force}, after a
     * failed batch) and appends from there.
     */
    void truncate(long length) throws IOException {
        if (channel.size() > length) {
            channel.truncate(length);
        }
        reset(length);
    }

    /** Appends from {@code at}: in direct mode, reads the partial block that holds {@code at} into the stage. */
    private void reset(long at) throws IOException {
        end = at;
        position = -1;
        if (direct == null) {
            return;
        }
        stageStart = at / align * align;
        stage.clear().limit((int) (at - stageStart));
        long pos = stageStart;
        while (stage.hasRemaining()) {
            int n = channel.read(stage, pos);
            if (n < 0) {
                throw new CorruptDataException(file + " at 0x" + Long.toHexString(pos) + ": pack ends before its"
                        + " indexed end 0x" + Long.toHexString(at));
            }
            pos += n;
        }
        stage.limit(STAGE_BYTES + align);
    }

    @Override
    public void close() throws IOException {
        try {
            if (direct != null) {
                direct.close();
            }
        } finally {
            channel.close();
        }
    }
}
