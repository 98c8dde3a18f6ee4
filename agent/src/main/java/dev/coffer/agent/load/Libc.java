package dev.coffer.agent.load;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The few C library calls the scheduler needs, through JNA. Syscall numbers and constants come from
 * the kernel's {@code arch/x86/entry/syscalls/syscall_64.tbl}, {@code include/uapi/asm-generic/unistd.h}
 * (aarch64), {@code include/uapi/linux/ioprio.h} and {@code include/uapi/asm-generic/fcntl.h}.
 */
interface Libc extends Library {
    /** The loaded library; loading fails on a non-Linux platform, which Coffer does not support. */
    Libc INSTANCE = Native.load("c", Libc.class);

    /** {@code syscall(2)}; JNA passes the Long arguments as 64-bit, the kernel's width. */
    long syscall(long number, Object... args) throws LastErrorException;

    int open(String path, int flags) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    long pread(int fd, Pointer buf, long count, long offset) throws LastErrorException;

    /** Returns an error number directly (it does not set errno). */
    int posix_fadvise(int fd, long offset, long len, int advice);

    /** {@code O_RDONLY}. */
    int O_RDONLY = 0;
    /** {@code O_NOATIME}: a backup must not touch the access times of what it reads. */
    int O_NOATIME = 01000000;
    /** {@code O_CLOEXEC}. */
    int O_CLOEXEC = 02000000;
    /** {@code POSIX_FADV_RANDOM}. */
    int POSIX_FADV_RANDOM = 1;
    /** {@code POSIX_FADV_SEQUENTIAL}. */
    int POSIX_FADV_SEQUENTIAL = 2;
    /** {@code POSIX_FADV_WILLNEED}. */
    int POSIX_FADV_WILLNEED = 3;
    /** {@code POSIX_FADV_DONTNEED}. */
    int POSIX_FADV_DONTNEED = 4;
    /** {@code EPERM}. */
    int EPERM = 1;
    /** {@code EINTR}. */
    int EINTR = 4;

    /** Syscall numbers of this machine's architecture. */
    final class Sys {
        private Sys() {}

        /** {@code SYS_gettid}: 186 on x86_64, 178 on aarch64. */
        static final long GETTID = Platform.isARM() ? 178 : 186;
        /** {@code SYS_ioprio_set}: 251 on x86_64, 30 on aarch64. */
        static final long IOPRIO_SET = Platform.isARM() ? 30 : 251;
        /** {@code SYS_ioprio_get}: 252 on x86_64, 31 on aarch64. */
        static final long IOPRIO_GET = Platform.isARM() ? 31 : 252;

        static void requireSupported() {
            if (!Platform.isLinux() || !(Platform.isARM() || Platform.isIntel()) || !Platform.is64Bit()) {
                throw new UnsupportedOperationException("I/O priority and page-cache control need"
                        + " Linux on x86_64 or aarch64; this is " + System.getProperty("os.name")
                        + " " + System.getProperty("os.arch"));
            }
        }
    }
}
