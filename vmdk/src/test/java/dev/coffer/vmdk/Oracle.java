package dev.coffer.vmdk;

import dev.coffer.testkit.Fixtures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What qemu-img says about a disk, and the same questions asked of Coffer, for side-by-side checks. */
final class Oracle {
    private Oracle() {}

    /** MD5 of the whole virtual disk as {@code qemu-img convert -O raw} writes it. */
    static String qemuRawMd5(Path image, Path tmp) {
        try {
            Path raw = Files.createTempFile(tmp, "qemu", ".raw");
            Fixtures.run("qemu-img", "convert", "-O", "raw", image.toString(), raw.toString());
            String md5 = Fixtures.md5(raw);
            Files.delete(raw);
            return md5;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** MD5 of every byte of {@code src}, read in {@code chunk}-byte pieces. */
    static String md5(ByteSource src, int chunk) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        ByteBuffer buf = ByteBuffer.allocate(chunk);
        for (long pos = 0; pos < src.size(); ) {
            buf.clear().limit((int) Math.min(chunk, src.size() - pos));
            src.read(pos, buf);
            buf.flip();
            md.update(buf);
            pos += buf.limit();
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The virtual size qemu-img reports. */
    static long qemuVirtualSize(Path image) {
        Matcher m = Pattern.compile("\"virtual-size\": (\\d+)")
                .matcher(Fixtures.run("qemu-img", "info", "--output=json", image.toString()));
        if (!m.find()) {
            throw new IllegalStateException("no virtual-size from qemu-img info " + image);
        }
        return Long.parseLong(m.group(1));
    }

    private static final Pattern MAP_ENTRY = Pattern.compile("\"start\": (\\d+), \"length\": (\\d+), "
            + "\"depth\": (\\d+), \"present\": (true|false), \"zero\": (true|false), \"data\": (true|false)");

    /**
     * {@code qemu-img map --output=json} as AllocatedRanges: present data at depth d is DATA of layer d,
     * present zeros are ZERO of layer d, absent is UNALLOCATED (-1); adjacent equal ranges merged.
     */
    static List<AllocatedRange> qemuMap(Path image) {
        List<AllocatedRange> out = new ArrayList<>();
        Matcher m = MAP_ENTRY.matcher(Fixtures.run("qemu-img", "map", "--output=json", image.toString()));
        while (m.find()) {
            long start = Long.parseLong(m.group(1));
            long len = Long.parseLong(m.group(2));
            int depth = Integer.parseInt(m.group(3));
            boolean present = m.group(4).equals("true");
            boolean data = m.group(6).equals("true");
            AllocatedRange r = !present ? new AllocatedRange(start, len, -1, AllocatedRange.Kind.UNALLOCATED)
                    : data ? new AllocatedRange(start, len, depth, AllocatedRange.Kind.DATA)
                    : new AllocatedRange(start, len, depth, AllocatedRange.Kind.ZERO);
            merge(out, r);
        }
        return out;
    }

    static void merge(List<AllocatedRange> out, AllocatedRange r) {
        if (!out.isEmpty()) {
            AllocatedRange last = out.get(out.size() - 1);
            if (last.end() == r.offset() && last.layer() == r.layer() && last.kind() == r.kind()) {
                out.set(out.size() - 1, new AllocatedRange(last.offset(), last.length() + r.length(), r.layer(),
                        r.kind()));
                return;
            }
        }
        out.add(r);
    }
}
