package dev.coffer.agent;

import java.io.IOException;
import java.util.concurrent.ExecutionException;

/** What a task that ran on another thread failed with, rethrown on the thread that waited for it. */
public final class Causes {
    private Causes() {}

    /**
     * The task's own failure: an unchecked one is thrown from here as it was; an {@link IOException}
     * is returned for the caller to throw; anything else comes back wrapped in one. Usage:
     * {@code throw Causes.io(e);}
     */
    public static IOException io(ExecutionException e) {
        Throwable c = e.getCause();
        if (c instanceof RuntimeException r) {
            throw r;
        }
        if (c instanceof Error err) {
            throw err;
        }
        return c instanceof IOException io ? io : new IOException(c);
    }
}
