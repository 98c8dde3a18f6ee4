package dev.coffer.agent.restore;

import java.io.IOException;

/**
 * A restore-target operation failed. The {@link Code} says what kind of failure it was; it is the
 * same locally ({@link DirectoryTarget}) and remotely ({@link HttpTargetClient}), where it travels
 * as the {@code code} of the JSON error body with the HTTP status given here.
 *
 * <p>One class with a code rather than a subclass per case, because the code must survive the
 * round trip over HTTP and callers switch on it.
 */
public class RestoreException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The kinds of failure, each with its HTTP status and wire name. */
    public enum Code {
        /** The request was malformed (bad offset, bad JSON, bad path encoding). */
        BAD_REQUEST(400, "bad_request"),
        /** No token, or a wrong one. */
        UNAUTHORIZED(401, "unauthorized"),
        /** No such endpoint. */
        NOT_FOUND(404, "not_found"),
        /** The endpoint exists but not with this HTTP method. */
        METHOD_NOT_ALLOWED(405, "method_not_allowed"),
        /** No upload of this file was begun (or the server restarted): begin it again. */
        UNKNOWN_UPLOAD(404, "unknown_upload"),
        /** The committed content does not hash to the expected SHA-256; nothing was written. */
        HASH_MISMATCH(409, "hash_mismatch"),
        /** Commit was asked before every byte of the file was written. */
        INCOMPLETE(409, "incomplete"),
        /** Something that is not a regular file (a directory, a symlinked directory) is in the way. */
        CONFLICT(409, "conflict"),
        /** The restored name would leave the root (a symlink inside the root, a bad component). */
        UNSAFE_PATH(400, "unsafe_path"),
        /** A chunk, a name or a count exceeded a documented limit. */
        LIMIT_EXCEEDED(413, "limit_exceeded"),
        /** The target's file system failed. */
        IO_ERROR(500, "io_error"),
        /** The target could not be reached (after retries). */
        UNAVAILABLE(503, "unavailable");

        private final int httpStatus;
        private final String wireName;

        Code(int httpStatus, String wireName) {
            this.httpStatus = httpStatus;
            this.wireName = wireName;
        }

        /** The HTTP status the server answers with. */
        public int httpStatus() {
            return httpStatus;
        }

        /** The {@code code} string of the JSON error body. */
        public String wireName() {
            return wireName;
        }

        /** The code with this wire name, or {@code null}. */
        public static Code fromWire(String name) {
            for (Code c : values()) {
                if (c.wireName.equals(name)) {
                    return c;
                }
            }
            return null;
        }
    }

    private final Code code;

    /** A failure of the given kind; the message says what, where, expected and found. */
    public RestoreException(Code code, String message) {
        super(message);
        this.code = code;
    }

    /** A failure of the given kind caused by another exception. */
    public RestoreException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /** What kind of failure this is. */
    public Code code() {
        return code;
    }
}
