package dev.coffer.dedup;

/** The destination answered a request with an {@code ERROR} frame; {@link #code()} says which. */
public class RemoteException extends DedupException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    /** @param code the error code from the frame; {@code message} the server's text, prefixed with the code */
    public RemoteException(ErrorCode code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    /** The protocol error code (docs/protocol.md). */
    public ErrorCode code() {
        return code;
    }
}
