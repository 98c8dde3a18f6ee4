package dev.coffer.agent.restore;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code syncfs(2)}: forces every dirty page and inode of one file system in a single call and one
 * journal commit, where an fsync per file costs a journal commit each. Linux only; elsewhere, or
 * when libc cannot be loaded, {@link #syncfs} says so and the caller fsyncs file by file.
 */
final class FileSystemSync {
    private static final Logger log = LoggerFactory.getLogger(FileSystemSync.class);
    private static final int O_RDONLY = 0;
    private static final int O_DIRECTORY = 0x10000; // Linux, all architectures Coffer runs on
    private static final int O_CLOEXEC = 0x80000;

    private FileSystemSync() {}

    interface LibC extends Library {
        int open(String path, int flags) throws LastErrorException;

        int syncfs(int fd) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private static final class Holder {
        static final LibC LIBC = load();

        private static LibC load() {
            if (!System.getProperty("os.name", "").equals("Linux")) {
                return null;
            }
            try {
                return Native.load("c", LibC.class);
            } catch (LinkageError e) {
                log.debug("syncfs unavailable error=\"{}\"", e.toString());
                return null;
            }
        }
    }

    /** Syncs the file system holding {@code dir}; false when that cannot be done here (nothing was synced). */
    static boolean syncfs(Path dir) {
        LibC libc = Holder.LIBC;
        if (libc == null) {
            return false;
        }
        int fd;
        try {
            fd = libc.open(dir.toString(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } catch (LastErrorException e) {
            log.debug("syncfs open failed dir={} errno={}", dir, e.getErrorCode());
            return false;
        }
        try {
            libc.syncfs(fd);
            return true;
        } catch (LastErrorException e) {
            log.debug("syncfs failed dir={} errno={}", dir, e.getErrorCode());
            return false;
        } finally {
            try {
                libc.close(fd);
            } catch (LastErrorException e) {
                log.debug("close failed dir={} errno={}", dir, e.getErrorCode());
            }
        }
    }
}
