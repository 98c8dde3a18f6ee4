package dev.coffer.catalog;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/** Builders for hand-checked catalog content: blocks hashed from real bytes, files with their streams. */
final class TestFiles {
    private TestFiles() {}

    static byte[] digest(String alg, byte[] data) {
        try {
            return MessageDigest.getInstance(alg).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** The block holding exactly these bytes. */
    static Block block(byte[] data) {
        return new Block(digest("SHA-256", data), digest("MD5", data), data.length);
    }

    static Block block(String text) {
        return block(text.getBytes(StandardCharsets.UTF_8));
    }

    /** A file whose unnamed stream is {@code chunks} back to back, one block each, in one run at {@code lcn}. */
    static FileRecord file(String path, long mft, long fingerprint, String... chunks) {
        List<BlockRef> refs = new ArrayList<>();
        long off = 0;
        for (String c : chunks) {
            Block b = block(c);
            refs.add(new BlockRef(off, b));
            off += b.sizeBytes();
        }
        List<Run> runs = off == 0 ? List.of() : List.of(new Run(1000 + mft * 10, (off + 4095) / 4096));
        return new FileRecord(path, mft, 1, 5, FileKind.FILE, off, 1_000L * mft, 2_000L * mft + fingerprint,
                3_000L, 4_000L, 0x20, fingerprint, List.of(new StreamRecord("", off, refs, runs)));
    }

    static FileRecord dir(String path, long mft) {
        return new FileRecord(path, mft, 1, 5, FileKind.DIRECTORY, 0, 1, 2, 3, 4, 0x10, mft, List.of());
    }
}
