package dev.coffer.agent.pit;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import dev.coffer.agent.discovery.DiscoveryException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Clones a VM's files with {@code FICLONE} (a reflink: shares the data blocks, copies nothing) into a
 * staging folder on the same filesystem, and reads the clones. Works on XFS, Btrfs, OCFS2 and
 * bcachefs; elsewhere the kernel answers {@code EOPNOTSUPP} and the backup fails with that reason
 * rather than silently reading live files.
 */
public final class ReflinkCloneSource implements PointInTime {
    /** {@code _IOW(0x94, 9, int)} from linux/fs.h. */
    private static final long FICLONE = 0x40049409L;
    private static final int O_RDONLY = 0;
    private static final int O_WRONLY = 1;
    private static final int O_CREAT = 0100;
    private static final int O_EXCL = 0200;
    private static final int O_CLOEXEC = 02000000;
    private static final int EOPNOTSUPP = 95;
    private static final int EXDEV = 18;

    /** The few libc calls a reflink needs. */
    interface LibC extends Library {
        int open(String path, int flags, int mode) throws LastErrorException;

        int ioctl(int fd, NativeLong request, int arg) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private static final class Holder {
        static final LibC LIBC = Native.load("c", LibC.class);
    }

    private final Path datastore;
    private final Path staging;
    private final Map<Path, Path> clones = new HashMap<>();

    /**
     * @param datastore the live datastore; the staging folder is made inside it (FICLONE needs one filesystem)
     * @param jobId names the staging folder {@code .coffer-clone-JOBID}
     */
    public ReflinkCloneSource(Path datastore, String jobId) throws IOException {
        this.datastore = datastore.toAbsolutePath().normalize();
        this.staging = this.datastore.resolve(".coffer-clone-" + jobId);
        Files.createDirectories(staging);
    }

    @Override
    public String consistency() {
        return "reflink-clone";
    }

    @Override
    public synchronized Path resolve(Path live) throws IOException {
        Path abs = live.toAbsolutePath().normalize();
        Path done = clones.get(abs);
        if (done != null) {
            return done;
        }
        if (!abs.startsWith(datastore)) {
            throw new DiscoveryException(live + " is not inside the datastore " + datastore);
        }
        Path target = staging.resolve(datastore.relativize(abs)).normalize();
        Files.createDirectories(target.getParent());
        clone(abs, target);
        clones.put(abs, target);
        return target;
    }

    /** Reflinks {@code src} to the new file {@code dst}. */
    static void clone(Path src, Path dst) throws IOException {
        LibC libc = Holder.LIBC;
        int in = -1;
        int out = -1;
        try {
            in = libc.open(src.toString(), O_RDONLY | O_CLOEXEC, 0);
            out = libc.open(dst.toString(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            libc.ioctl(out, new NativeLong(FICLONE), in);
        } catch (LastErrorException e) {
            Files.deleteIfExists(dst);
            String why = switch (e.getErrorCode()) {
                case EOPNOTSUPP -> "the filesystem does not support reflinks (EOPNOTSUPP); use a storage"
                        + " snapshot source, or allow live reads in the policy";
                case EXDEV -> "source and clone are on different filesystems (EXDEV)";
                default -> "errno " + e.getErrorCode();
            };
            throw new DiscoveryException("reflink clone of " + src + " failed: " + why);
        } finally {
            closeQuietly(libc, out);
            closeQuietly(libc, in);
        }
    }

    private static void closeQuietly(LibC libc, int fd) {
        if (fd >= 0) {
            try {
                libc.close(fd);
            } catch (LastErrorException ignored) {
                // close of a read-only or just-failed descriptor: nothing to recover
            }
        }
    }

    /** Deletes the staging folder and every clone in it. */
    @Override
    public synchronized void close() throws IOException {
        if (!Files.exists(staging)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(staging)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
        clones.clear();
    }
}
