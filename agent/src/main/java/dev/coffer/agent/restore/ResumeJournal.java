package dev.coffer.agent.restore;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The resume journal of one partial file: a header naming the file's size and SHA-256, then one
 * record per chunk written, holding the chunk's range and CRC-32C. On resume each record is checked
 * against the partial file's bytes, so a record whose data never reached the disk (or a torn
 * record) is simply not counted as verified. Byte layout: {@code docs/restore-target.md}.
 *
 * <p>CRC-32C rather than SHA-256 per chunk: the journal guards against lost and torn writes of our
 * own files, not against an adversary, and the whole content's SHA-256 is checked at commit anyway;
 * CRC-32C costs ~1/10 of a SHA-256 pass. Appends are thread-safe.
 */
final class ResumeJournal implements Closeable {
    /** Header magic, the bytes "CFRJ" read as a little-endian int. */
    static final int MAGIC = 0x4a524643;
    /** Journal format version; bump with docs/restore-target.md. */
    static final short VERSION = 1;
    static final int HEADER_BYTES = 0x40;
    static final int OFF_MAGIC = 0x00;
    static final int OFF_VERSION = 0x04;
    static final int OFF_FLAGS = 0x06;
    static final int OFF_SIZE = 0x08;
    static final int OFF_SHA256 = 0x10;
    static final int OFF_HEADER_CRC = 0x30;
    static final int OFF_BLOCK_BYTES = 0x34;
    static final int RECORD_BYTES = 0x14;
    static final int REC_OFFSET = 0x00;
    static final int REC_LENGTH = 0x08;
    static final int REC_DATA_CRC = 0x0c;
    static final int REC_CRC = 0x10;
    /** Most records read back: a 16 TiB file in 1 MiB chunks, plus as many retries. */
    static final long MAX_RECORDS = 1L << 25;

    /** One journal record: {@code length} bytes at {@code offset} with CRC-32C {@code crc}. */
    record Entry(long offset, int length, int crc) {
        /**
         * Decodes a record at {@code at} of the journal, or returns null for a torn or corrupt one.
         * Validates the range against the file size and the chunk limit.
         */
        static Entry parse(ByteBuffer raw, long at, long fileSize) {
            ByteBuffer b = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
            if (b.remaining() < RECORD_BYTES) {
                return null;
            }
            CRC32C crc = new CRC32C();
            crc.update(b.slice(0, REC_CRC));
            if ((int) crc.getValue() != b.getInt(REC_CRC)) {
                return null;
            }
            long offset = b.getLong(REC_OFFSET);
            long length = Integer.toUnsignedLong(b.getInt(REC_LENGTH));
            if (offset < 0 || length == 0 || length > RestoreTarget.MAX_CHUNK_BYTES || offset > fileSize - length) {
                return null;
            }
            return new Entry(offset, (int) length, b.getInt(REC_DATA_CRC));
        }

        /** Encodes the record into 20 bytes. */
        ByteBuffer encode() {
            ByteBuffer b = ByteBuffer.allocate(RECORD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(REC_OFFSET, offset).putInt(REC_LENGTH, length).putInt(REC_DATA_CRC, crc);
            CRC32C c = new CRC32C();
            c.update(b.slice(0, REC_CRC));
            b.putInt(REC_CRC, (int) c.getValue());
            return b;
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final Object lock = new Object();
    /** Where the next record goes. @GuardedBy("lock") */
    private long end;

    private ResumeJournal(Path path, FileChannel channel, long end) {
        this.path = path;
        this.channel = channel;
        this.end = end;
    }

    /**
     * Opens the journal for a file of this size and hash. When an existing journal matches, its
     * valid records are returned in {@code entries} and new records are appended after them (a torn
     * tail is cut off); otherwise the journal is started afresh and {@code entries} stays empty.
     */
    static ResumeJournal open(Path path, RestoreFile file, List<Entry> entries) throws IOException {
        long size = file.size();
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            long end = readInto(ch, file, entries);
            if (end < 0) {
                entries.clear();
                ch.truncate(0);
                ch.write(header(file), 0);
                end = HEADER_BYTES; // forced with the first records (a journal lost to a power cut only restarts the file)
            } else {
                ch.truncate(end);
            }
            return new ResumeJournal(path, ch, end);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Reads the valid records of an existing journal without changing it; empty when there is none or it is for other content. */
    static List<Entry> read(Path path, RestoreFile file) throws IOException {
        List<Entry> entries = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            if (readInto(ch, file, entries) < 0) {
                entries.clear();
            }
        } catch (NoSuchFileException e) {
            // no journal: nothing verified
        }
        return entries;
    }

    /** Adds the valid records to {@code entries}; returns the end of the last one, or -1 when the header does not match. */
    private static long readInto(FileChannel ch, RestoreFile file, List<Entry> entries) throws IOException {
        long size = file.size();
        long length = ch.size();
        if (length < HEADER_BYTES) {
            return -1;
        }
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES);
        readFully(ch, h, 0);
        h.flip();
        if (!h.equals(header(file))) {
            return -1;
        }
        long records = Math.min((length - HEADER_BYTES) / RECORD_BYTES, MAX_RECORDS);
        ByteBuffer buf = ByteBuffer.allocate(RECORD_BYTES * 4096);
        long pos = HEADER_BYTES;
        long done = 0;
        while (done < records) {
            buf.clear();
            int n = (int) Math.min(4096, records - done);
            buf.limit(n * RECORD_BYTES);
            readFully(ch, buf, pos);
            buf.flip();
            for (int i = 0; i < n; i++) {
                Entry e = Entry.parse(buf.slice(i * RECORD_BYTES, RECORD_BYTES), pos, size);
                if (e == null) {
                    return pos; // torn or corrupt record: everything after it is ignored
                }
                entries.add(e);
                pos += RECORD_BYTES;
            }
            done += n;
        }
        return pos;
    }

    private static ByteBuffer header(RestoreFile file) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(OFF_MAGIC, MAGIC).putShort(OFF_VERSION, VERSION).putShort(OFF_FLAGS, (short) 0).putLong(OFF_SIZE, file.size());
        b.put(OFF_SHA256, file.sha256());
        b.putInt(OFF_BLOCK_BYTES, file.blockBytes());
        CRC32C c = new CRC32C();
        c.update(b.slice(0, OFF_HEADER_CRC));
        b.putInt(OFF_HEADER_CRC, (int) c.getValue());
        return b;
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, pos);
            if (n < 0) {
                throw new IOException("journal truncated while reading at " + pos);
            }
            pos += n;
        }
    }

    /** Appends one record (not forced; see {@link #force}). */
    void append(long offset, int length, int crc) throws IOException {
        ByteBuffer rec = new Entry(offset, length, crc).encode();
        synchronized (lock) {
            long at = end;
            while (rec.hasRemaining()) {
                at += channel.write(rec, at);
            }
            end = at;
        }
    }

    /** Forces the journal to stable storage. */
    void force() throws IOException {
        channel.force(false);
    }

    Path path() {
        return path;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
