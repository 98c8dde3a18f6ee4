package dev.coffer.agent.load;

import java.io.IOException;

/**
 * A source of {@link LoadSample}s: each call measures the interval since the previous call.
 * The real one is {@link ProcLoadProbe}; tests feed synthetic samples.
 */
public interface LoadProbe {
    /**
     * Measures the load since the previous call (or since construction, for the first call).
     *
     * @throws IOException when the kernel statistics cannot be read or parsed
     */
    LoadSample sample() throws IOException;
}
