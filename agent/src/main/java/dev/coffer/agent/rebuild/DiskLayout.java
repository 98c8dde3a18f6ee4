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
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Where every byte of a disk comes from in a backup, in disk order: non-overlapping spans, each a
 * piece of one block. Built in the rebuild order of {@code docs/backup.md} (disk regions, then NTFS
 * streams through their runs, then the volumes' raw regions), a later span replacing whatever it
 * overlaps; bytes no span covers are zeros. This is what lets a disk be written front to back,
 * to a pipe or as a streamOptimized VMDK, without materialising it first.
 */
public final class DiskLayout {
    /**
     * {@code length} bytes at {@code diskOffset}, taken from block {@code sha256} starting at
     * {@code blockOffset} of the block's bytes.
     */
    public record Span(long diskOffset, long length, byte[] sha256, long blockOffset) {
        long end() {
            return diskOffset + length;
        }
    }

    private static final int PAGE = 10_000;
    private static final int MAX_DEPTH = 1024;

    private final TreeMap<Long, Span> spans = new TreeMap<>();
    private final long capacity;

    private DiskLayout(long capacity) {
        this.capacity = capacity;
    }

    /** The layout of disk {@code diskId} in backup {@code backupId}. */
    public static DiskLayout of(Catalog catalog, long backupId, long diskId, long capacityBytes) throws IOException {
        DiskLayout l = new DiskLayout(capacityBytes);
        List<Region> regions = catalog.regions(backupId, diskId);
        for (Region r : regions) {
            if (!r.kind().equals("ntfs-raw") && !r.kind().startsWith(BackupJob.VM_FILE_KIND)) {
                l.paintRegion(r);
            }
        }
        List<Long> ingested = catalog.volumesOf(backupId);
        for (VolumeInfo v : catalog.volumes(diskId)) {
            if (v.fsKind().equals("ntfs") && ingested.contains(v.id())) {
                l.paintVolume(catalog, backupId, v);
            }
        }
        for (Region r : regions) {
            if (r.kind().equals("ntfs-raw")) {
                l.paintRegion(r);
            }
        }
        return l;
    }

    /** The disk's size in bytes. */
    public long capacity() {
        return capacity;
    }

    /** The spans in disk order. */
    public Collection<Span> spans() {
        return spans.values();
    }

    /** The spans that overlap {@code [from, to)}, in disk order (clipped by the caller). */
    public Collection<Span> spans(long from, long to) {
        Map.Entry<Long, Span> first = spans.floorEntry(from);
        long start = first != null && first.getValue().end() > from ? first.getKey() : from;
        return spans.subMap(start, true, to, false).values();
    }

    private void paintRegion(Region r) {
        for (BlockRef b : r.blocks()) {
            paint(new Span(r.offsetBytes() + b.offset(), b.block().sizeBytes(), b.block().sha256(), 0));
        }
    }

    private void paintVolume(Catalog catalog, long backupId, VolumeInfo v) throws IOException {
        Set<String> done = new HashSet<>();
        walk(catalog, backupId, v, "/", 0, e -> {
            if (e.kind() == FileKind.DIRECTORY) {
                return;
            }
            Stat st = catalog.stat(backupId, v.id(), e.path()).orElseThrow();
            for (StreamInfo s : st.streams()) {
                if (s.runs().isEmpty() || !done.add(e.mftRecord() + ":" + s.name())) {
                    continue;
                }
                for (FileBlock b : catalog.blocks(backupId, v.id(), e.path(), s.name())) {
                    paintThroughRuns(v, s.runs(), b);
                }
            }
        });
    }

    /** Places a stream block at the clusters its runs map it to; holes and bytes past the runs are skipped. */
    private void paintThroughRuns(VolumeInfo v, List<Run> runs, FileBlock b) {
        long cs = v.clusterBytes();
        long vcn = 0;
        for (Run r : runs) {
            long runFrom = vcn * cs;
            long runTo = (vcn + r.clusterCount()) * cs;
            vcn += r.clusterCount();
            long from = Math.max(runFrom, b.offset());
            long to = Math.min(runTo, b.offset() + b.sizeBytes());
            if (from < to && r.lcn() != Run.SPARSE) {
                paint(new Span(v.offsetBytes() + r.lcn() * cs + (from - runFrom), to - from, b.sha256(), from - b.offset()));
            }
        }
    }

    /** Adds {@code s}, cutting away the parts of earlier spans it covers. */
    private void paint(Span s) {
        if (s.length() <= 0 || s.diskOffset() >= capacity) {
            return;
        }
        if (s.end() > capacity) {
            s = new Span(s.diskOffset(), capacity - s.diskOffset(), s.sha256(), s.blockOffset());
        }
        Map.Entry<Long, Span> before = spans.lowerEntry(s.diskOffset());
        if (before != null && before.getValue().end() > s.diskOffset()) {
            Span p = before.getValue();
            spans.put(p.diskOffset(), new Span(p.diskOffset(), s.diskOffset() - p.diskOffset(), p.sha256(), p.blockOffset()));
            if (p.end() > s.end()) {
                long cut = s.end() - p.diskOffset();
                spans.put(s.end(), new Span(s.end(), p.end() - s.end(), p.sha256(), p.blockOffset() + cut));
            }
        }
        List<Span> inside = new ArrayList<>(spans.subMap(s.diskOffset(), true, s.end(), false).values());
        for (Span p : inside) {
            spans.remove(p.diskOffset());
            if (p.end() > s.end()) {
                long cut = s.end() - p.diskOffset();
                spans.put(s.end(), new Span(s.end(), p.end() - s.end(), p.sha256(), p.blockOffset() + cut));
            }
        }
        spans.put(s.diskOffset(), s);
    }

    private interface Visitor {
        void visit(Entry e) throws IOException;
    }

    private static void walk(Catalog catalog, long backupId, VolumeInfo v, String dir, int depth, Visitor visitor)
            throws IOException {
        if (depth > MAX_DEPTH) {
            throw new IOException("catalog directory " + dir + " nested deeper than " + MAX_DEPTH);
        }
        for (int offset = 0; ; offset += PAGE) {
            Page<Entry> page = catalog.list(backupId, v.id(), dir, offset, PAGE);
            for (Entry e : page.items()) {
                visitor.visit(e);
                if (e.kind() == FileKind.DIRECTORY) {
                    walk(catalog, backupId, v, e.path(), depth + 1, visitor);
                }
            }
            if (page.items().isEmpty() || offset + page.items().size() >= page.total()) {
                return;
            }
        }
    }
}
