package dev.coffer.agent.config;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A configuration file that cannot be used: the message is {@code FILE:LINE: KEY: what is wrong}.
 */
public final class ConfigException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final int line;
    private final String key;

    public ConfigException(Path file, int line, String key, String problem) {
        super(file + ":" + (line > 0 ? line : "?") + ": " + (key.isEmpty() ? "" : key + ": ") + problem);
        this.file = file;
        this.line = line;
        this.key = key;
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }

    /** The 1-based line of the offending key, or 0 when unknown. */
    public int line() {
        return line;
    }

    /** The dotted key path, e.g. {@code policies[2].schedule}. */
    public String key() {
        return key;
    }
}
