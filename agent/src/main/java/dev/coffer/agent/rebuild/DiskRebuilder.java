package dev.coffer.agent.rebuild;

import dev.coffer.agent.backup.BackupJob;
import dev.coffer.catalog.BlockRef;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.Entry;
import dev.coffer.catalog.FileBlock;
import dev.coffer.catalog.FileKind;
import dev.coffer.catalog.Page;
import dev.coffer.catalog.Region;
import dev.coffer.catalog.Run;
import dev.coffer.catalog.Stat;
import dev.coffer.catalog.StreamInfo;
import dev.coffer.catalog.VolumeInfo;
import dev.coffer.dedup.Destination;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;

/**
 * Rebuilds a whole disk from a backup as a raw image, as {@code docs/backup.md} describes: zeros,
 * then the disk's regions, then each NTFS volume's streams written through their runs, then the
 * volumes' raw regions (which override whatever the streams could not reproduce exactly).
 */
public final class DiskRebuilder {
    /** Directory depth beyond which a catalog path is not followed (NTFS paths cannot be this deep). */
    private static final int MAX_DEPTH = 1024;
    private static final int PAGE = 10_000;

    private final Catalog catalog;
    private final Destination destination;

    public DiskRebuilder(Catalog catalog, Destination destination) {
        this.catalog = catalog;
        this.destination = destination;
    }

    /**
     * Writes disk {@code diskId} as backup {@code backupId} saw it to {@code out} (a sparse raw
     * file of {@code capacityBytes}). Returns the bytes written.
     */
    public long rebuild(long backupId, long diskId, long capacityBytes, Path out) throws IOException {
        long written = 0;
        try (RandomAccessFile raf = new RandomAccessFile(out.toFile(), "rw")) {
            raf.setLength(0);
            raf.setLength(capacityBytes);
            FileChannel ch = raf.getChannel();
            List<Region> regions = catalog.regions(backupId, diskId);
            for (Region r : regions) {
                if (!r.kind().equals("ntfs-raw") && !r.kind().startsWith(BackupJob.VM_FILE_KIND)) {
                    written += writeRegion(ch, r);
                }
            }
            List<Long> ingested = catalog.volumesOf(backupId);
            for (VolumeInfo v : catalog.volumes(diskId)) {
                if (v.fsKind().equals("ntfs") && ingested.contains(v.id())) {
                    written += writeVolume(ch, backupId, v);
                }
            }
            for (Region r : regions) {
                if (r.kind().equals("ntfs-raw")) {
                    written += writeRegion(ch, r);
                }
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

    private long writeVolume(FileChannel ch, long backupId, VolumeInfo v) throws IOException {
        long[] n = {0};
        Set<String> done = new HashSet<>();
        walk(backupId, v, "/", 0, e -> {
            if (e.kind() == FileKind.DIRECTORY && !e.path().equals("/")) {
                return;
            }
            Stat st = catalog.stat(backupId, v.id(), e.path()).orElseThrow();
            for (StreamInfo s : st.streams()) {
                if (s.runs().isEmpty() || !done.add(e.mftRecord() + ":" + s.name())) {
                    continue;
                }
                List<FileBlock> blocks = catalog.blocks(backupId, v.id(), e.path(), s.name());
                for (FileBlock b : blocks) {
                    n[0] += writeThroughRuns(ch, v, s.runs(), b.offset(), fetch(b.sha256()));
                }
            }
        });
        return n[0];
    }

    /** Writes stream bytes starting at stream offset {@code at} to the clusters the runs map them to. */
    private static long writeThroughRuns(FileChannel ch, VolumeInfo v, List<Run> runs, long at, ByteBuffer data)
            throws IOException {
        long cs = v.clusterBytes();
        long written = 0;
        long vcnStart = 0;
        for (Run r : runs) {
            long runFrom = vcnStart * cs;
            long runTo = (vcnStart + r.clusterCount()) * cs;
            vcnStart += r.clusterCount();
            long from = Math.max(runFrom, at);
            long to = Math.min(runTo, at + data.limit());
            if (from >= to || r.lcn() == Run.SPARSE) {
                continue;
            }
            ByteBuffer part = data.duplicate();
            part.position((int) (from - at)).limit((int) (to - at));
            long disk = v.offsetBytes() + r.lcn() * cs + (from - runFrom);
            written += part.remaining();
            writeFully(ch, part, disk);
        }
        return written;
    }

    private interface EntryVisitor {
        void visit(Entry e) throws IOException;
    }

    private void walk(long backupId, VolumeInfo v, String dir, int depth, EntryVisitor visitor) throws IOException {
        if (depth > MAX_DEPTH) {
            throw new IOException("catalog directory " + dir + " nested deeper than " + MAX_DEPTH);
        }
        for (int offset = 0; ; offset += PAGE) {
            Page<Entry> page = catalog.list(backupId, v.id(), dir, offset, PAGE);
            for (Entry e : page.items()) {
                visitor.visit(e);
                if (e.kind() == FileKind.DIRECTORY) {
                    walk(backupId, v, e.path(), depth + 1, visitor);
                }
            }
            if (offset + page.items().size() >= page.total() || page.items().isEmpty()) {
                return;
            }
        }
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
