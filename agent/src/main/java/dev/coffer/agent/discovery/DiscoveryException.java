package dev.coffer.agent.discovery;

import java.io.IOException;

/** A datastore, VM folder or configuration file that cannot be used as asked; the message names the file. */
public final class DiscoveryException extends IOException {
    private static final long serialVersionUID = 1L;

    public DiscoveryException(String message) {
        super(message);
    }
}
