package dev.coffer.agent.backup;

import dev.coffer.vmdk.AllocatedRange;
import dev.coffer.vmdk.ExtentDescriptor;
import dev.coffer.vmdk.Layer;
import dev.coffer.vmdk.VirtualDisk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Which bytes of a disk may have changed since an earlier backup read it: the snapshot-delta part of
 * an incremental backup (docs/architecture.md, "Incremental").
 *
 * <p>A backup records the identity of every file of the chain it read, leaf first: path, size,
 * modification and change times (nanoseconds) and inode, and records it only when none of them moved
 * while it read. The next backup finds the same files, unchanged, at the bottom of its own chain when
 * the VM took a snapshot since (a new delta on top), or as the whole chain when nothing was written at
 * all. Then only the bytes the layers above them decide can differ from what the earlier backup read;
 * every other byte reads through to layers that are, file for file, the ones it read. Any other
 * difference (a file rewritten, a parent replaced, a disk opened through another path, such as a
 * storage snapshot or a reflink clone) means unknown, and everything is read.
 *
 * <p>The times are the same test restic, rsync and git use to skip unchanged files; the change time
 * cannot be set back by a user, so a parent written after the backup read it is noticed. As for git's
 * "racy" files, a write that lands in the same tick of the file system's clock as the last write
 * before the backup's final look would leave the times as they were, so a description counts only
 * when every time in it is older than that look by more than a tick ({@link #settled}).
 */
final class ChainState {
    private ChainState() {}

    /** The chain's files as they are now, one line per file, layers leaf first; null when they cannot be told apart. */
    static String describe(VirtualDisk disk) {
        StringBuilder sb = new StringBuilder();
        List<Layer> chain = disk.chain();
        try {
            for (int i = 0; i < chain.size(); i++) {
                for (Path p : files(chain.get(i))) {
                    Map<String, Object> a = Files.readAttributes(p, "unix:size,lastModifiedTime,ctime,ino,dev");
                    sb.append(i).append('\t').append(p.toAbsolutePath().normalize()).append('\t').append(a.get("size"))
                            .append('\t').append(nanos(a.get("lastModifiedTime"))).append('\t').append(nanos(a.get("ctime")))
                            .append('\t').append(a.get("dev")).append(':').append(a.get("ino")).append('\n');
                }
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return null; // no unix attribute view, or a file went away: no change tracking
        }
        return sb.toString();
    }

    /**
     * Whether a chain described as {@code description} (by {@link #describe}, at {@code lookedAtNanos},
     * epoch nanoseconds) can be recorded: its files' times are all older than that moment by more than
     * the file system's clock tick. Sub-second times mean a tick of a few milliseconds (100 ms margin);
     * whole seconds mean a coarse clock (FAT's is 2 s: 2.5 s margin).
     */
    static boolean settled(String description, long lookedAtNanos) {
        for (String line : description.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\t");
            long mtime = Long.parseLong(f[3]);
            long ctime = Long.parseLong(f[4]);
            boolean coarse = mtime % 1_000_000_000L == 0 && ctime % 1_000_000_000L == 0;
            long margin = coarse ? 2_500_000_000L : 100_000_000L;
            if (Math.max(mtime, ctime) > lookedAtNanos - margin) {
                return false;
            }
        }
        return true;
    }

    /** A layer's descriptor file and its extent files. */
    private static Set<Path> files(Layer l) {
        Set<Path> out = new LinkedHashSet<>();
        out.add(l.path());
        for (ExtentDescriptor e : l.extents()) {
            if (e.fileName() != null) {
                out.add(l.path().resolveSibling(e.fileName()));
            }
        }
        return out;
    }

    private static long nanos(Object t) {
        return ((FileTime) t).to(TimeUnit.NANOSECONDS);
    }

    /**
     * The disk byte ranges that may differ from what the backup that recorded {@code before} read,
     * given the chain as it is {@code now} (both from {@link #describe}); null when that cannot be told
     * (then everything may have changed).
     */
    static Extents changedSince(VirtualDisk disk, String now, String before) throws IOException {
        if (now == null || before == null) {
            return null;
        }
        List<String> cur = layers(now);
        List<String> old = layers(before);
        int k = cur.size() - old.size(); // layers added on top since: the old leaf is now layer k
        if (k < 0 || old.isEmpty() || !cur.subList(k, cur.size()).equals(old)) {
            return null;
        }
        List<long[]> changed = new ArrayList<>();
        if (k > 0) {
            for (AllocatedRange r : disk.allocation(0, disk.size())) {
                if (r.layer() >= 0 && r.layer() < k) {
                    changed.add(new long[] {r.offset(), r.length()});
                }
            }
        }
        return Extents.of(changed);
    }

    /** The description's files grouped by layer, leaf first, each without its layer number. */
    private static List<String> layers(String description) {
        List<StringBuilder> out = new ArrayList<>();
        for (String line : description.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            int tab = line.indexOf('\t');
            int layer = Integer.parseInt(line.substring(0, tab));
            while (out.size() <= layer) {
                out.add(new StringBuilder());
            }
            out.get(layer).append(line, tab + 1, line.length()).append('\n');
        }
        return Arrays.asList(out.stream().map(StringBuilder::toString).toArray(String[]::new));
    }
}
