package dev.coffer.agent.restore;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * One file (or one alternate data stream of a file) to restore: where it goes, how big it is, what
 * its content must hash to, and the NTFS metadata to put back.
 *
 * @param path the path relative to the restore root as NTFS name components, hostile until mapped
 *     by {@link SafeNames}
 * @param stream the alternate data stream name, or {@code null} for the unnamed (main) stream
 * @param size the content length in bytes
 * @param sha256 the content hash checked at commit (32 bytes): the SHA-256 of the content when
 *     {@code blockBytes} is 0, else the block-tree hash (SHA-256 of the concatenated SHA-256s of
 *     the content's {@code blockBytes}-long blocks, the last one shorter), see {@link #contentHash}
 * @param blockBytes 0 for a plain SHA-256, else the block size of the tree hash in bytes
 * @param times the NTFS timestamps to set
 * @param attributes the NTFS file attribute flags ({@code FILE_ATTRIBUTE_*}), kept as metadata
 * @param securityDescriptor the self-relative NTFS security descriptor, or {@code null}
 * @param policy what to do when the file already exists at the target
 */
public record RestoreFile(
        List<String> path,
        String stream,
        long size,
        byte[] sha256,
        int blockBytes,
        FileTimes times,
        int attributes,
        byte[] securityDescriptor,
        ExistingPolicy policy) {
    /** Deepest path accepted: NTFS paths are at most 32767 UTF-16 units, so at most ~16k levels; real trees are far shallower. */
    public static final int MAX_DEPTH = 1024;
    /** Longest name component accepted, in UTF-16 units: NTFS allows 255; hostile input gets some slack, SafeNames shortens. */
    public static final int MAX_COMPONENT_CHARS = 1024;
    /** Largest file accepted: NTFS's implementation limit is 16 TiB minus 64 KiB. */
    public static final long MAX_SIZE = 1L << 44;
    /** Smallest tree-hash block: an NTFS sector; backup blocks are far larger, and tiny blocks would only cost hashing. */
    public static final int MIN_BLOCK_BYTES = 512;
    /** Largest security descriptor accepted: its ACL sizes are 16-bit, so real ones stay below 64 KiB. */
    public static final int MAX_SECURITY_DESCRIPTOR_BYTES = 1 << 16;

    /** Validates every field; hostile values get an {@link IllegalArgumentException}. */
    public RestoreFile {
        Objects.requireNonNull(path, "path");
        path = List.copyOf(path);
        if (path.isEmpty() || path.size() > MAX_DEPTH) {
            throw new IllegalArgumentException("path depth " + path.size() + " not in 1.." + MAX_DEPTH);
        }
        for (String c : path) {
            if (c.length() > MAX_COMPONENT_CHARS) {
                throw new IllegalArgumentException("name component of " + c.length() + " chars exceeds " + MAX_COMPONENT_CHARS);
            }
        }
        if (stream != null && (stream.isEmpty() || stream.length() > MAX_COMPONENT_CHARS)) {
            throw new IllegalArgumentException("stream name length " + stream.length() + " not in 1.." + MAX_COMPONENT_CHARS);
        }
        if (size < 0 || size > MAX_SIZE) {
            throw new IllegalArgumentException("size " + size + " not in 0.." + MAX_SIZE);
        }
        Objects.requireNonNull(sha256, "sha256");
        if (sha256.length != 32) {
            throw new IllegalArgumentException("sha256 must be 32 bytes, found " + sha256.length);
        }
        sha256 = sha256.clone();
        if (blockBytes != 0 && blockBytes < MIN_BLOCK_BYTES) {
            throw new IllegalArgumentException("blockBytes " + blockBytes + " must be 0 or at least " + MIN_BLOCK_BYTES);
        }
        times = times == null ? FileTimes.NONE : times;
        if (securityDescriptor != null) {
            if (securityDescriptor.length > MAX_SECURITY_DESCRIPTOR_BYTES) {
                throw new IllegalArgumentException("security descriptor of " + securityDescriptor.length
                        + " bytes exceeds " + MAX_SECURITY_DESCRIPTOR_BYTES);
            }
            securityDescriptor = securityDescriptor.clone();
        }
        Objects.requireNonNull(policy, "policy");
    }

    /** A plain file (whole-content SHA-256) with no NTFS metadata beyond its times. */
    public static RestoreFile of(List<String> path, long size, byte[] sha256, FileTimes times, ExistingPolicy policy) {
        return new RestoreFile(path, null, size, sha256, 0, times, 0, null, policy);
    }

    /**
     * The hash {@code content} must have to commit as a file with this {@code blockBytes}: the
     * SHA-256 of the content (0) or its block-tree hash (&gt; 0). For callers that hold the bytes.
     */
    public static byte[] contentHash(byte[] content, int blockBytes) {
        if (blockBytes != 0 && blockBytes < MIN_BLOCK_BYTES) {
            throw new IllegalArgumentException("blockBytes " + blockBytes + " must be 0 or at least " + MIN_BLOCK_BYTES);
        }
        return ContentHasher.of(content, blockBytes);
    }

    /** The expected SHA-256 (a copy). */
    @Override
    public byte[] sha256() {
        return sha256.clone();
    }

    /** The security descriptor (a copy), or {@code null}. */
    @Override
    public byte[] securityDescriptor() {
        return securityDescriptor == null ? null : securityDescriptor.clone();
    }

    /** The path joined with {@code /} plus {@code :stream}, for messages and logs (not for file system use). */
    public String displayName() {
        return String.join("/", path) + (stream == null ? "" : ":" + stream);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RestoreFile r
                && path.equals(r.path)
                && Objects.equals(stream, r.stream)
                && size == r.size
                && Arrays.equals(sha256, r.sha256)
                && blockBytes == r.blockBytes
                && times.equals(r.times)
                && attributes == r.attributes
                && Arrays.equals(securityDescriptor, r.securityDescriptor)
                && policy == r.policy;
    }

    @Override
    public int hashCode() {
        return Objects.hash(path, stream, size, Arrays.hashCode(sha256), blockBytes, times, attributes,
                Arrays.hashCode(securityDescriptor), policy);
    }

    @Override
    public String toString() {
        return "RestoreFile[" + displayName() + " size=" + size + " sha256=" + HexFormat.of().formatHex(sha256)
                + (blockBytes == 0 ? "" : " blockBytes=" + blockBytes) + " policy=" + policy + "]";
    }
}
