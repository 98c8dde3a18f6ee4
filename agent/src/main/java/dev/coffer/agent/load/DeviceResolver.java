package dev.coffer.agent.load;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Finds the physical block devices under a datastore path: the mount that holds the path
 * ({@code /proc/self/mountinfo}), its device number, then {@code /sys/dev/block/MAJ:MIN} followed
 * down to whole disks: a partition to its disk, a device-mapper or md device to its
 * {@code slaves/}, a loop device to the device under its backing file.
 *
 * <p>Filesystems without a block device (tmpfs, overlay, NFS, FUSE) resolve to an empty device list
 * with a note; the governor then works from pressure-stall information only and says so.
 */
public final class DeviceResolver {
    /** Stacking depth followed (dm on md on partitions on loop...); real stacks are 3-4 deep. */
    static final int MAX_DEPTH = 16;
    /** Physical devices accepted under one datastore; a wide md/dm set is still far below this. */
    static final int MAX_DEVICES = 1024;

    private final Path procSelf;
    private final Path sys;

    /**
     * A resolver reading the given roots, so tests can feed captured trees.
     *
     * @param procSelf the directory holding {@code mountinfo} (normally {@code /proc/self})
     * @param sys the sysfs root (normally {@code /sys})
     */
    public DeviceResolver(Path procSelf, Path sys) {
        this.procSelf = procSelf;
        this.sys = sys;
    }

    /** A resolver over this machine's {@code /proc/self} and {@code /sys}. */
    public static DeviceResolver system() {
        return new DeviceResolver(Path.of("/proc/self"), Path.of("/sys"));
    }

    /**
     * Resolves the devices under {@code datastore} (a directory or a file on the datastore).
     *
     * @throws IOException when the path does not exist or mountinfo/sysfs cannot be read
     */
    public DeviceSet resolve(Path datastore) throws IOException {
        Map<String, BlockDevice> found = new LinkedHashMap<>();
        List<String> notes = new ArrayList<>();
        MountInfo mount = resolveInto(datastore, found, notes, 0);
        String note = String.join("; ", notes);
        return new DeviceSet(datastore, mount.mountPoint(), mount.fsType(),
                new ArrayList<>(found.values()), note);
    }

    private MountInfo resolveInto(Path path, Map<String, BlockDevice> found, List<String> notes,
            int depth) throws IOException {
        Path real = path.toRealPath();
        String mountinfoPath = procSelf.resolve("mountinfo").toString();
        List<MountInfo> mounts = MountInfo.parseAll(
                Files.readString(procSelf.resolve("mountinfo"), StandardCharsets.UTF_8), mountinfoPath);
        MountInfo best = null;
        for (MountInfo m : mounts) {
            // later lines win on equal length: a mount stacked on the same point hides earlier ones
            if (isUnder(real.toString(), m.mountPoint())
                    && (best == null || m.mountPoint().length() >= best.mountPoint().length())) {
                best = m;
            }
        }
        if (best == null) {
            throw new LoadProbeException(mountinfoPath + ": no mount holds " + real);
        }
        int major = best.major();
        int minor = best.minor();
        if (major == 0) {
            // btrfs and some others report an anonymous device number; their source may still
            // name a real block device
            String src = best.source();
            Path dev = src.startsWith("/dev/") ? sys.resolve("class/block")
                    .resolve(Path.of(src).getFileName().toString()).resolve("dev") : null;
            if (dev != null && Files.isRegularFile(dev)) {
                String[] mm = readDevNo(dev);
                major = Integer.parseInt(mm[0]);
                minor = Integer.parseInt(mm[1]);
                notes.add(best.fsType() + " at " + best.mountPoint() + " uses " + src);
            } else {
                notes.add(best.fsType() + " at " + best.mountPoint()
                        + " has no block device: pressure-stall information only");
                return best;
            }
        }
        expand(major + ":" + minor, found, notes, depth);
        return best;
    }

    private void expand(String devNo, Map<String, BlockDevice> found, List<String> notes, int depth)
            throws IOException {
        if (depth > MAX_DEPTH) {
            throw new LoadProbeException(sys.resolve("dev/block").resolve(devNo)
                    + ": device stack deeper than " + MAX_DEPTH);
        }
        Path link = sys.resolve("dev/block").resolve(devNo);
        Path dir;
        try {
            dir = link.toRealPath();
        } catch (NoSuchFileException e) {
            notes.add("device " + devNo + " not in sysfs: pressure-stall information only");
            return;
        }
        String name = dir.getFileName().toString();
        if (Files.exists(dir.resolve("partition"))) {
            Path disk = dir.getParent();
            String[] mm = readDevNo(disk.resolve("dev"));
            notes.add(name + " is a partition of " + disk.getFileName());
            expand(mm[0] + ":" + mm[1], found, notes, depth + 1);
            return;
        }
        Path slaves = dir.resolve("slaves");
        List<String> slaveNames = new ArrayList<>();
        if (Files.isDirectory(slaves)) {
            try (Stream<Path> s = Files.list(slaves)) {
                s.limit(MAX_DEVICES + 1L).forEach(p -> slaveNames.add(p.getFileName().toString()));
            }
        }
        if (!slaveNames.isEmpty()) {
            slaveNames.sort(null);
            notes.add(name + " stacks on " + String.join(",", slaveNames));
            for (String slave : slaveNames) {
                String[] mm = readDevNo(sys.resolve("class/block").resolve(slave).resolve("dev"));
                expand(mm[0] + ":" + mm[1], found, notes, depth + 1);
            }
            return;
        }
        Path backing = dir.resolve("loop/backing_file");
        if (Files.isRegularFile(backing)) {
            String file = Files.readString(backing, StandardCharsets.UTF_8).strip();
            notes.add(name + " is a loop device over " + file);
            Path backingPath = Path.of(file);
            if (file.isEmpty() || !Files.exists(backingPath)) {
                notes.add("backing file of " + name + " not reachable: pressure-stall information only");
                return;
            }
            resolveInto(backingPath, found, notes, depth + 1);
            return;
        }
        if (name.startsWith("loop")) {
            notes.add(name + " has no backing file: pressure-stall information only");
            return;
        }
        String[] mm = readDevNo(dir.resolve("dev"));
        BlockDevice d = new BlockDevice(name, Integer.parseInt(mm[0]), Integer.parseInt(mm[1]));
        found.putIfAbsent(d.devNo(), d);
        if (found.size() > MAX_DEVICES) {
            throw new LoadProbeException(link + ": more than " + MAX_DEVICES + " devices under one datastore");
        }
    }

    private static String[] readDevNo(Path devFile) throws IOException {
        String s = Files.readString(devFile, StandardCharsets.US_ASCII).strip();
        String[] mm = s.split(":");
        if (mm.length != 2 || !mm[0].matches("\\d{1,9}") || !mm[1].matches("\\d{1,9}")) {
            throw new LoadProbeException(devFile + ": expected major:minor, found '"
                    + DiskStats.abbreviate(s) + "'");
        }
        return mm;
    }

    static boolean isUnder(String path, String mountPoint) {
        if (mountPoint.equals("/")) {
            return true;
        }
        return path.equals(mountPoint) || path.startsWith(mountPoint + "/");
    }
}
