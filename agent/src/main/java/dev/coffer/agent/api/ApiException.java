package dev.coffer.agent.api;

/**
 * A request the query API answers with an error: the HTTP status and a one-line message, sent as
 * {@code {"error": message, "status": status}}. Unchecked because it only travels from a route to the
 * handler that turns it into a response.
 */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;

    /** An error with HTTP status {@code status}. */
    public ApiException(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    /** The HTTP status. */
    public int status() {
        return status;
    }
}
