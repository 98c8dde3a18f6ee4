package dev.coffer.agent.restore;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Where a file-level restore writes files: the upload workers of the restore pipeline call it.
 * Thread-safe: many workers may write chunks of the same or different files at once, in any order.
 *
 * <p>Protocol per file: {@link #begin} (maps the name, says which ranges are already verified from
 * an interrupted attempt, or that the file is to be skipped), any number of {@link #write}s at byte
 * offsets (a chunk may be written again: retries are idempotent), then {@link #commit} (checks that
 * every byte is there and that the whole content hashes to the expected SHA-256, sets times and
 * metadata, and moves the file into place atomically) or {@link #abort}. Nothing appears at the
 * final path before a successful commit.
 *
 * <p>Every method throws {@link RestoreException} with a {@link RestoreException.Code} that is the
 * same for the local and the remote implementation.
 */
public interface RestoreTarget extends Closeable {
    /** Largest chunk one {@link #write} accepts, in bytes: 4 times the pipeline's 1 MiB chunk, the HTTP body limit. */
    int MAX_CHUNK_BYTES = 4 << 20;

    /** Starts (or resumes) the upload of one file. */
    Upload begin(RestoreFile file) throws RestoreException;

    /**
     * Writes {@code data} (its remaining bytes; its position is not moved) at {@code offset} of the
     * file. {@code offset + data.remaining()} must not exceed the file's size.
     */
    void write(Upload upload, long offset, ByteBuffer data) throws RestoreException;

    /**
     * Finishes the file: fails with {@code INCOMPLETE} when bytes are missing (the upload stays
     * open), with {@code HASH_MISMATCH} when the content does not hash to the expected SHA-256
     * (the partial file is discarded and no final file is written); otherwise sets times and
     * metadata and moves the file into place according to its {@link ExistingPolicy}.
     */
    CommitResult commit(Upload upload) throws RestoreException;

    /** Abandons the upload and discards what was written. Idempotent. */
    void abort(Upload upload) throws RestoreException;

    /** The byte ranges of this file already written and verified at the target (for resume). */
    List<ByteRange> status(RestoreFile file) throws RestoreException;

    /** Releases the target's resources; uncommitted uploads stay resumable. */
    @Override
    void close() throws IOException;
}
