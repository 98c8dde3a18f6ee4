package dev.coffer.dedup;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * A committed manifest file {@code manifests/<backupId>.manifest} (docs/store.md, "Manifests").
 *
 * <p>Layout, little-endian: magic u32 "CMAN", version u32, blockCount u64, logicalBytes u64,
 * committedAtMillis i64, listDigest[32] (SHA-256 of the concatenated block hashes), then blockCount ×
 * 32-byte SHA-256, then a 32-byte SHA-256 of every preceding byte.
 *
 * @param backupId the backup's id
 * @param blockCount hashes listed
 * @param logicalBytes raw bytes referenced (with repeats)
 * @param committedAtMillis commit time, ms since the epoch
 * @param listDigest SHA-256 of the concatenated hashes (identifies the contents for idempotent re-commits)
 */
record ManifestFile(String backupId, long blockCount, long logicalBytes, long committedAtMillis, byte[] listDigest) {
    static final int MAGIC = 0x4E414D43; // bytes "CMAN"
    static final int VERSION = 1;
    static final int HEADER_BYTES = 0x40;
    static final String SUFFIX = ".manifest";
    /** 2^28 blocks of 1 MiB = 256 TiB per backup; keeps the count*32 size arithmetic far from overflow. */
    static final long MAX_BLOCKS = 1L << 28;
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");

    /** Throws unless {@code id} is a valid backup id (1..128 of [A-Za-z0-9._-], not starting with '.'). */
    static void checkId(String id) throws InvalidRequestException {
        if (id == null || !ID.matcher(id).matches()) {
            throw new InvalidRequestException("invalid backup id " + (id == null ? "null" : "'" + id.replaceAll("[^\\x20-\\x7e]", "?") + "'")
                    + ": expected 1..128 of [A-Za-z0-9._-], not starting with '.'");
        }
    }

    ManifestInfo info() {
        return new ManifestInfo(backupId, blockCount, logicalBytes, Instant.ofEpochMilli(committedAtMillis));
    }

    ByteBuffer encodeHeader() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, MAGIC).putInt(4, VERSION).putLong(8, blockCount).putLong(0x10, logicalBytes)
                .putLong(0x18, committedAtMillis).put(0x20, listDigest);
        return b;
    }

    /** Parses a header read from {@code file}; {@code fileSize} must match the count it declares. */
    static ManifestFile parseHeader(ByteBuffer raw, String backupId, Path file, long fileSize) throws CorruptDataException {
        ByteBuffer b = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < HEADER_BYTES) {
            throw new CorruptDataException(file + " at 0x0: manifest header needs 64 bytes, found " + b.remaining());
        }
        if (b.getInt(0) != MAGIC || b.getInt(4) != VERSION) {
            throw new CorruptDataException(file + " at 0x0: manifest magic/version expected 0x"
                    + Integer.toHexString(MAGIC) + "/1, found 0x" + Integer.toHexString(b.getInt(0)) + "/" + b.getInt(4));
        }
        long count = b.getLong(8);
        if (count < 0 || count > MAX_BLOCKS) {
            throw new CorruptDataException(file + " at 0x8: block count " + count + " outside 0.." + MAX_BLOCKS);
        }
        long expected = HEADER_BYTES + count * 32 + 32;
        if (fileSize != expected) {
            throw new CorruptDataException(file + ": size expected " + expected + " for " + count + " blocks, found " + fileSize);
        }
        byte[] digest = new byte[32];
        b.get(0x20, digest);
        return new ManifestFile(backupId, count, b.getLong(0x10), b.getLong(0x18), digest);
    }

    /** Reads the header of a manifest file (without checking the trailer). */
    static ManifestFile readHeader(Path file, String backupId) throws IOException {
        long size = Files.size(file);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] h = in.readNBytes(HEADER_BYTES);
            return parseHeader(ByteBuffer.wrap(h), backupId, file, size);
        }
    }

    /**
     * Streams every hash of a manifest file to {@code sink}, then checks the trailer digest.
     *
     * @throws CorruptDataException when the file is truncated or its trailer does not match
     */
    static ManifestFile forEachBlock(Path file, String backupId, Consumer<byte[]> sink) throws IOException {
        long size = Files.size(file);
        Digests.Digest all = sha256();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] h = in.readNBytes(HEADER_BYTES);
            ManifestFile m = parseHeader(ByteBuffer.wrap(h), backupId, file, size);
            all.update(h, 0, h.length);
            for (long i = 0; i < m.blockCount; i++) {
                byte[] sha = in.readNBytes(32);
                if (sha.length != 32) {
                    throw new CorruptDataException(file + " at 0x" + Long.toHexString(HEADER_BYTES + i * 32) + ": truncated");
                }
                all.update(sha, 0, sha.length);
                sink.accept(sha);
            }
            byte[] trailer = in.readNBytes(32);
            if (!Arrays.equals(trailer, all.digest())) {
                throw new CorruptDataException(file + " at 0x" + Long.toHexString(size - 32) + ": manifest checksum mismatch");
            }
            return m;
        }
    }

    /** The SHA-256 of manifest lists and files ({@link Digests}: libcrypto's where it loads). */
    static Digests.Digest sha256() {
        return Digests.sha256();
    }
}
