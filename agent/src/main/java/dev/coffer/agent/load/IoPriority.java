package dev.coffer.agent.load;

import com.sun.jna.LastErrorException;
import java.io.IOException;

/**
 * Puts backup threads in the kernel's idle I/O class ({@code ioprio_set(2)} through JNA), so that
 * schedulers that honour classes (BFQ, mq-deadline) serve them only when no one else waits.
 *
 * <p>Per thread: call {@link #setIdleForCurrentThread()} at the start of each backup reader thread.
 * The class is inherited by threads the thread creates afterwards.
 */
public final class IoPriority {
    /** {@code IOPRIO_CLASS_NONE}: no class set; the kernel derives one from the CPU nice value. */
    public static final int CLASS_NONE = 0;
    /** {@code IOPRIO_CLASS_RT}. */
    public static final int CLASS_REALTIME = 1;
    /** {@code IOPRIO_CLASS_BE}. */
    public static final int CLASS_BEST_EFFORT = 2;
    /** {@code IOPRIO_CLASS_IDLE}. */
    public static final int CLASS_IDLE = 3;
    /** {@code IOPRIO_WHO_PROCESS}: the target is one thread id. */
    static final int WHO_PROCESS = 1;
    /** {@code IOPRIO_CLASS_SHIFT}: the class sits above 13 bits of level data. */
    static final int CLASS_SHIFT = 13;
    /** Mask of the level data under the class. */
    static final int DATA_MASK = (1 << CLASS_SHIFT) - 1;

    private IoPriority() {}

    /**
     * An I/O priority as the kernel encodes it.
     *
     * @param ioClass one of the {@code CLASS_*} constants
     * @param level the level within the class (0 highest .. 7 lowest; ignored for idle)
     */
    public record Value(int ioClass, int level) {
        /** The kernel's encoding: {@code class << 13 | level}. */
        public int encode() {
            return ioClass << CLASS_SHIFT | level;
        }

        /** Decodes the kernel's encoding. */
        public static Value decode(int ioprio) {
            return new Value(ioprio >>> CLASS_SHIFT, ioprio & DATA_MASK);
        }
    }

    /**
     * Puts the calling thread in the idle I/O class and reads it back.
     *
     * @throws IOException when the kernel refuses or the read-back disagrees
     */
    public static void setIdleForCurrentThread() throws IOException {
        set(currentThreadId(), new Value(CLASS_IDLE, 0));
        Value back = get(currentThreadId());
        if (back.ioClass() != CLASS_IDLE) {
            throw new IOException("ioprio_set(IDLE) on thread " + currentThreadId()
                    + ": read back class " + back.ioClass() + ", expected " + CLASS_IDLE);
        }
    }

    /** The calling thread's I/O priority, as {@code ioprio_get(2)} reports it. */
    public static Value ofCurrentThread() throws IOException {
        return get(currentThreadId());
    }

    /** The calling thread's kernel thread id ({@code gettid(2)}). */
    public static int currentThreadId() {
        Libc.Sys.requireSupported();
        return (int) Libc.INSTANCE.syscall(Libc.Sys.GETTID);
    }

    /**
     * Sets the I/O priority of thread {@code tid}.
     *
     * @throws IOException when the kernel refuses (errno in the message)
     */
    public static void set(int tid, Value value) throws IOException {
        Libc.Sys.requireSupported();
        try {
            Libc.INSTANCE.syscall(Libc.Sys.IOPRIO_SET, (long) WHO_PROCESS, (long) tid,
                    (long) value.encode());
        } catch (LastErrorException e) {
            throw new IOException("ioprio_set(tid " + tid + ", class " + value.ioClass() + ", level "
                    + value.level() + ") failed: errno " + e.getErrorCode(), e);
        }
    }

    /**
     * Reads the I/O priority of thread {@code tid}.
     *
     * @throws IOException when the kernel refuses (errno in the message)
     */
    public static Value get(int tid) throws IOException {
        Libc.Sys.requireSupported();
        try {
            long r = Libc.INSTANCE.syscall(Libc.Sys.IOPRIO_GET, (long) WHO_PROCESS, (long) tid);
            return Value.decode((int) r);
        } catch (LastErrorException e) {
            throw new IOException("ioprio_get(tid " + tid + ") failed: errno " + e.getErrorCode(), e);
        }
    }
}
