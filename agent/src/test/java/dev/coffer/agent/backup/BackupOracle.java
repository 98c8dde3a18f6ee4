package dev.coffer.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.FileBlock;
import dev.coffer.catalog.VolumeInfo;
import dev.coffer.dedup.Destination;
import dev.coffer.testkit.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a backup against The Sleuth Kit: every file and stream {@code fls} lists has, in the
 * catalog, blocks whose bytes have the MD5 of {@code icat}'s output; and a rebuilt disk holds the
 * source's bytes in every allocated NTFS cluster ({@code blkls -a}) and everywhere outside NTFS.
 */
final class BackupOracle {
    private BackupOracle() {}

    /** path[:stream] -> icat address, for every regular file and stream of the NTFS volume at {@code sector}. */
    static Map<String, String> flsFiles(Path raw, long sector) {
        Map<String, String> out = new LinkedHashMap<>();
        String fls = Fixtures.run("fls", "-r", "-p", "-u", "-o", Long.toString(sector), raw.toString());
        for (String line : fls.lines().toList()) {
            if (!line.startsWith("r/r ")) {
                continue;
            }
            int tab = line.indexOf('\t');
            String addr = line.substring(4, tab).replace("*", "").replace(":", "").strip();
            String path = line.substring(tab + 1);
            if (path.startsWith("$") || path.contains("/$") || path.startsWith("$OrphanFiles")) {
                continue;
            }
            out.put(path, addr);
        }
        return out;
    }

    static String icatMd5(Path raw, long sector, String addr) {
        return Fixtures.run("bash", "-c", "icat -o " + sector + " '" + raw + "' " + addr + " | md5sum")
                .split(" ")[0];
    }

    /** Reads a file or stream back from the backup and returns its MD5. */
    static String backupMd5(Catalog catalog, Destination dest, long backupId, long volumeId, String pathAndStream)
            throws Exception {
        int colon = pathAndStream.indexOf(':');
        String path = "/" + (colon < 0 ? pathAndStream : pathAndStream.substring(0, colon));
        String stream = colon < 0 ? "" : pathAndStream.substring(colon + 1);
        MessageDigest md5 = MessageDigest.getInstance("MD5");
        long expectOffset = 0;
        for (FileBlock b : catalog.blocks(backupId, volumeId, path, stream)) {
            assertThat(b.offset()).as(pathAndStream + " block order").isEqualTo(expectOffset);
            ByteBuffer data = dest.get(b.sha256()).get();
            expectOffset += data.remaining();
            md5.update(data);
        }
        return HexFormat.of().formatHex(md5.digest());
    }

    /** Asserts that every file and stream of the NTFS volume reads back with icat's MD5. */
    static int assertFilesMatchIcat(Catalog catalog, Destination dest, long backupId, VolumeInfo vol, Path sourceRaw)
            throws Exception {
        long sector = vol.offsetBytes() / 512;
        Map<String, String> files = flsFiles(sourceRaw, sector);
        assertThat(files).isNotEmpty();
        for (Map.Entry<String, String> e : files.entrySet()) {
            assertThat(backupMd5(catalog, dest, backupId, vol.id(), e.getKey()))
                    .as("content of " + e.getKey()).isEqualTo(icatMd5(sourceRaw, sector, e.getValue()));
        }
        return files.size();
    }

    /** Asserts the rebuilt disk equals the source in allocated NTFS clusters and outside NTFS volumes. */
    static void assertRebuildMatches(Path source, Path rebuilt, List<VolumeInfo> ntfs) throws IOException {
        long prev = 0;
        for (VolumeInfo v : ntfs) {
            long sector = v.offsetBytes() / 512;
            String a = Fixtures.run("bash", "-c", "blkls -a -o " + sector + " '" + source + "' | md5sum");
            String b = Fixtures.run("bash", "-c", "blkls -a -o " + sector + " '" + rebuilt + "' | md5sum");
            assertThat(b).as("allocated clusters of the volume at sector " + sector).isEqualTo(a);
            assertRangeEqual(source, rebuilt, prev, v.offsetBytes());
            prev = v.offsetBytes() + v.lengthBytes();
        }
        try (FileChannel s = FileChannel.open(source, StandardOpenOption.READ)) {
            assertRangeEqual(source, rebuilt, prev, s.size());
        }
    }

    private static void assertRangeEqual(Path a, Path b, long from, long to) throws IOException {
        try (FileChannel x = FileChannel.open(a); FileChannel y = FileChannel.open(b)) {
            ByteBuffer bx = ByteBuffer.allocate(1 << 20);
            ByteBuffer by = ByteBuffer.allocate(1 << 20);
            for (long pos = from; pos < to; ) {
                int n = (int) Math.min(bx.capacity(), to - pos);
                bx.clear().limit(n);
                by.clear().limit(n);
                x.read(bx, pos);
                y.read(by, pos);
                bx.flip();
                by.flip();
                if (!bx.equals(by)) {
                    for (int i = 0; i < n; i++) {
                        if (bx.get(i) != by.get(i)) {
                            throw new AssertionError("rebuilt disk differs from the source at byte " + (pos + i));
                        }
                    }
                }
                pos += n;
            }
        }
    }
}
