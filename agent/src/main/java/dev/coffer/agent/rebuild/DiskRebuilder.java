package dev.coffer.agent.rebuild;

import dev.coffer.agent.backup.BackupJob;
import dev.coffer.catalog.BlockRef;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.Region;
import dev.coffer.dedup.Destination;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * Rebuilds a whole disk from a backup as a raw image, as {@code docs/backup.md} describes: zeros,
 * then the disk's regions, then each NTFS volume's streams written through their runs, then the
 * volumes' raw regions (which override whatever the streams could not reproduce exactly). The
 * order is resolved once by {@link DiskLayout}; this writes its spans at their offsets, and
 * {@link DiskExport} writes the same spans front to back.
 */
public final class DiskRebuilder {
    /** Blocks kept while writing: a fragmented file's block comes back for each of its runs. */
    private static final int CACHE_BLOCKS = 64;

    private final Catalog catalog;
    private final Destination destination;

    public DiskRebuilder(Catalog catalog, Destination destination) {
        this.catalog = catalog;
        this.destination = destination;
    }

    /**
     * Writes disk {@code diskId} as backup {@code backupId} saw it to {@code out} (a sparse raw
     * file of {@code capacityBytes}): the spans of its {@link DiskLayout}, each at its offset.
     * Returns the bytes written.
     */
    public long rebuild(long backupId, long diskId, long capacityBytes, Path out) throws IOException {
        DiskLayout layout = DiskLayout.of(catalog, backupId, diskId, capacityBytes);
        long written = 0;
        java.util.Map<String, ByteBuffer> cache = new java.util.LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(java.util.Map.Entry<String, ByteBuffer> eldest) {
                return size() > CACHE_BLOCKS;
            }
        };
        try (RandomAccessFile raf = new RandomAccessFile(out.toFile(), "rw")) {
            raf.setLength(0);
            raf.setLength(capacityBytes);
            FileChannel ch = raf.getChannel();
            for (DiskLayout.Span s : layout.spans()) {
                String key = java.util.HexFormat.of().formatHex(s.sha256());
                ByteBuffer block = cache.get(key);
                if (block == null) {
                    block = fetch(s.sha256());
                    cache.put(key, block);
                }
                if (s.blockOffset() + s.length() > block.limit()) {
                    throw new IOException("block " + key + " is shorter than the catalog says");
                }
                ByteBuffer part = block.duplicate();
                part.position((int) s.blockOffset()).limit((int) (s.blockOffset() + s.length()));
                written += part.remaining();
                writeFully(ch, part, s.diskOffset());
            }
            ch.force(true);
        }
        return written;
    }

    /**
     * Writes the VM's own files kept with backup {@code backupId} ({@code .vmx}, {@code .vmsd},
     * {@code .nvram}) into {@code dir}; returns their names.
     */
    public List<String> writeVmFiles(long backupId, long diskId, Path dir) throws IOException {
        List<String> names = new java.util.ArrayList<>();
        for (Region r : catalog.regions(backupId, diskId)) {
            if (!r.kind().startsWith(BackupJob.VM_FILE_KIND)) {
                continue;
            }
            String name = r.kind().substring(BackupJob.VM_FILE_KIND.length());
            if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..") || name.indexOf('\0') >= 0) {
                throw new IOException("backup " + backupId + ": unsafe VM file name \"" + name + "\"");
            }
            try (FileChannel ch = FileChannel.open(dir.resolve(name), java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
                writeRegion(ch, r);
            }
            names.add(name);
        }
        return names;
    }

    private long writeRegion(FileChannel ch, Region r) throws IOException {
        long n = 0;
        for (BlockRef ref : r.blocks()) {
            ByteBuffer data = fetch(ref.block().sha256());
            n += data.remaining();
            writeFully(ch, data, r.offsetBytes() + ref.offset());
        }
        return n;
    }

    private ByteBuffer fetch(byte[] sha256) throws IOException {
        try {
            return destination.get(sha256).get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("rebuild cancelled");
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            at += ch.write(b, at);
        }
    }
}
