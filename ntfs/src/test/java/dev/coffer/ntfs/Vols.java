package dev.coffer.ntfs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;

/** Test helpers: volumes from files and in memory, stream digests. */
final class Vols {
    private Vols() {}

    static VolumeSource file(Path p) {
        try {
            return VolumeSource.of(FileChannel.open(p, StandardOpenOption.READ));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static VolumeSource bytes(byte[] b) {
        return new VolumeSource() {
            @Override
            public long size() {
                return b.length;
            }

            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                if (offset < 0 || offset + dst.remaining() > b.length) {
                    throw new java.io.EOFException("read " + dst.remaining() + " at " + offset + " past " + b.length);
                }
                dst.put(b, (int) offset, dst.remaining());
            }
        };
    }

    static String md5(StreamReader r) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("MD5");
            ByteBuffer buf = ByteBuffer.allocate(1 << 20);
            long pos = 0;
            while (true) {
                buf.clear();
                int n = r.read(pos, buf);
                if (n < 0) {
                    break;
                }
                md.update(buf.array(), 0, n);
                pos += n;
            }
            if (pos != r.size()) {
                throw new AssertionError("read " + pos + " of " + r.size());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static String md5(Path p) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("MD5");
            md.update(java.nio.file.Files.readAllBytes(p));
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
