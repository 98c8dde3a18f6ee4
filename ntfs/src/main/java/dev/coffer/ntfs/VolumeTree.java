package dev.coffer.ntfs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The whole tree of a volume built from one MFT scan: every in-use file by record number, each
 * directory's children (one child entry per hard link), full paths, and the orphans whose parent
 * is gone. Built for cataloging; immutable once built.
 *
 * <p>Children come from the files' own $FILE_NAME parent references (not the directory indexes),
 * so a name is attached only when its parent is an in-use directory with the referenced sequence
 * number; 8.3 short names are left out. Cycles of parents are reported and broken.
 */
public final class VolumeTree {
    /** One name of a file inside a directory. */
    public record Child(String name, FileRecord file) {}

    private static final Comparator<Child> ORDER =
            Comparator.comparing(Child::name, String.CASE_INSENSITIVE_ORDER).thenComparing(Child::name);

    private final Map<Long, FileRecord> records;
    private final Map<Long, List<Child>> children;
    private final List<FileRecord> orphans;
    private final Set<Long> metafiles;

    private VolumeTree(Map<Long, FileRecord> records, Map<Long, List<Child>> children, List<FileRecord> orphans,
            Set<Long> metafiles) {
        this.records = records;
        this.children = children;
        this.orphans = orphans;
        this.metafiles = metafiles;
    }

    static VolumeTree build(NtfsVolume volume, ErrorSink sink) throws IOException {
        Map<Long, FileRecord> records = new HashMap<>(Math.max(16, (int) Math.min(volume.recordCount() * 2, 1 << 24)));
        volume.scan(new java.util.function.Consumer<FileRecord>() { // no lambda on the startup path
            @Override
            public void accept(FileRecord f) {
                records.put(f.mftRecordNumber(), f);
            }
        });
        Map<Long, List<Child>> children = new HashMap<>();
        List<FileRecord> orphans = new ArrayList<>();
        // by record number: a linear contains() over the records compared them field by field, and the
        // first record equals() links its ObjectMethods (~30 ms of a 20,000-file volume's tree)
        Set<Long> orphaned = new HashSet<>();
        for (FileRecord f : records.values()) {
            if (f.mftRecordNumber() == FileRecord.ROOT) {
                continue;
            }
            boolean attached = false;
            for (FileName n : f.links()) {
                FileRecord p = records.get(n.parentRecordNumber());
                if (p != null && p.directory() && p.sequenceNumber() == n.parentSequenceNumber()
                        && p.mftRecordNumber() != f.mftRecordNumber()) {
                    List<Child> l = children.get(p.mftRecordNumber());
                    if (l == null) {
                        l = new ArrayList<>();
                        children.put(p.mftRecordNumber(), l);
                    }
                    l.add(new Child(n.name(), f));
                    attached = true;
                }
            }
            if (!attached) {
                orphans.add(f);
                orphaned.add(f.mftRecordNumber());
            }
        }
        for (List<Child> l : children.values()) {
            l.sort(ORDER);
        }
        // Everything reachable from the root; what is not (a cycle of parents) is an orphan too.
        Set<Long> reached = new HashSet<>();
        Set<Long> metafiles = new HashSet<>();
        List<Long> stack = new ArrayList<>();
        if (records.containsKey(FileRecord.ROOT)) {
            stack.add(FileRecord.ROOT);
            reached.add(FileRecord.ROOT);
        }
        while (!stack.isEmpty()) {
            long d = stack.remove(stack.size() - 1);
            boolean metaDir = d == FileRecord.EXTEND || metafiles.contains(d);
            for (Child c : children.getOrDefault(d, List.of())) {
                long n = c.file().mftRecordNumber();
                if (metaDir || (d == FileRecord.ROOT && n < FileRecord.FIRST_USER_RECORD)) {
                    metafiles.add(n);
                }
                if (reached.add(n) && c.file().directory()) {
                    stack.add(n);
                }
            }
        }
        for (FileRecord f : records.values()) {
            if (!reached.contains(f.mftRecordNumber()) && orphaned.add(f.mftRecordNumber())) {
                sink.report(new CorruptNtfsException("MFT record " + f.mftRecordNumber()
                        + ": not reachable from the root (a cycle of parents)"));
                orphans.add(f);
            }
        }
        orphans.sort(Comparator.comparingLong(FileRecord::mftRecordNumber));
        return new VolumeTree(records, children, List.copyOf(orphans), metafiles);
    }

    /** The file in record {@code n}, or null when it is not an in-use base record. */
    public FileRecord record(long n) {
        return records.get(n);
    }

    /** Every in-use file, in no particular order. */
    public Collection<FileRecord> records() {
        return records.values();
    }

    /** The root directory. */
    public FileRecord root() {
        return records.get(FileRecord.ROOT);
    }

    /** The children of directory {@code dir}, sorted by name (case-insensitive, then exact). */
    public List<Child> children(FileRecord dir) {
        return children.getOrDefault(dir.mftRecordNumber(), List.of());
    }

    /** Files whose names all point to missing, reused or non-directory parents, or that sit in a cycle. */
    public List<FileRecord> orphans() {
        return orphans;
    }

    /** True for the NTFS system files: records 0-15 named in the root, and everything under $Extend. */
    public boolean metafile(FileRecord f) {
        return metafiles.contains(f.mftRecordNumber()) || f.mftRecordNumber() == FileRecord.EXTEND;
    }

    /**
     * Calls {@code visitor} with every file reachable from {@code dir}, depth first in name order,
     * with its path relative to {@code dir} ('/'-separated, no leading '/'); a file with several
     * names in the subtree is visited once per name. Directories are visited once even if corrupt
     * data gives them several names.
     */
    public void walk(FileRecord dir, PathVisitor visitor) throws IOException {
        Set<Long> seen = new HashSet<>();
        seen.add(dir.mftRecordNumber());
        walk(dir, "", visitor, seen, 0);
    }

    private void walk(FileRecord dir, String prefix, PathVisitor visitor, Set<Long> seen, int depth) throws IOException {
        if (depth > NtfsVolume.MAX_PATH_DEPTH) {
            return;
        }
        for (Child c : children(dir)) {
            String path = prefix.isEmpty() ? c.name() : prefix + "/" + c.name();
            FileRecord f = c.file();
            if (f.directory()) {
                if (!seen.add(f.mftRecordNumber())) {
                    continue;
                }
                if (visitor.visit(path, f)) {
                    walk(f, path, visitor, seen, depth + 1);
                }
            } else {
                visitor.visit(path, f);
            }
        }
    }

    /** Receives each path of a walk; return false from a directory to skip its subtree. */
    @FunctionalInterface
    public interface PathVisitor {
        boolean visit(String path, FileRecord file) throws IOException;
    }

    /** The first full path of {@code f} ("/" for the root), or null when it is an orphan. */
    public String path(FileRecord f) {
        List<String> p = paths(f, 1);
        return p.isEmpty() ? null : p.get(0);
    }

    /** Every full path of {@code f} (one per hard link whose parent chain reaches the root). */
    public List<String> paths(FileRecord f) {
        return paths(f, Integer.MAX_VALUE);
    }

    private List<String> paths(FileRecord f, int max) {
        List<String> out = new ArrayList<>();
        if (f.mftRecordNumber() == FileRecord.ROOT) {
            out.add("/");
            return out;
        }
        for (FileName n : f.links()) {
            if (out.size() >= max) {
                break;
            }
            StringBuilder sb = new StringBuilder("/").append(n.name());
            long parent = n.parentRecordNumber();
            int seq = n.parentSequenceNumber();
            boolean ok = true;
            for (int depth = 0; parent != FileRecord.ROOT; depth++) {
                FileRecord p = records.get(parent);
                if (p == null || p.sequenceNumber() != seq || !p.directory() || depth > NtfsVolume.MAX_PATH_DEPTH
                        || p.primaryName() == null) {
                    ok = false;
                    break;
                }
                FileName pn = p.primaryName();
                sb.insert(0, pn.name()).insert(0, '/');
                parent = pn.parentRecordNumber();
                seq = pn.parentSequenceNumber();
            }
            if (ok) {
                out.add(sb.toString());
            }
        }
        return out;
    }
}
