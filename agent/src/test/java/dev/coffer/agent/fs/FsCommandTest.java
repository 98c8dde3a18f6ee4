package dev.coffer.agent.fs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.Main;
import dev.coffer.ntfs.FileRecord;
import dev.coffer.ntfs.NtfsVolume;
import dev.coffer.testkit.Fixtures;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fs CLI against The Sleuth Kit: {@code coffer fs ls -r} (run as a real process) lists the same
 * paths and sizes as {@code fls -r -p}, {@code fs cat} gives icat's bytes for compressed, sparse,
 * fragmented and alternate streams, {@code fs extract} reproduces content and times, and disks open
 * as raw MBR/GPT images and as VMDKs.
 */
class FsCommandTest {
    static Path rich() {
        return Fixtures.build("ntfs-rich", "4096").resolve("volume.raw");
    }

    /** Runs {@code coffer ARGS} as a separate JVM, stdout to a file; returns [exit code, stdout file, stderr]. */
    static Object[] process(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "out", ".bin");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        int rc = p.waitFor();
        return new Object[] {rc, out, Files.readString(err)};
    }

    static Object[] inProcess(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Object[] {rc, out.toString(), err.toString()};
    }

    /** fls addresses (record-type-id) by path, from the last {@link #fls} call per image. */
    static final Map<String, String> ADDRESS = new java.util.HashMap<>();

    /** Asserts the listing equals fls's, except names fls takes from index slack whose records istat calls free. */
    static void assertSameAsFls(Map<String, Long> listed, Path image, String... extra) {
        Map<String, Long> expected = fls(image, extra);
        // ls types links 'l'; fls calls a junction a directory and a symlink a file: match by path.
        Map<String, Long> actual = new TreeMap<>(listed);
        for (Map.Entry<String, Long> e : listed.entrySet()) {
            if (e.getValue() == LINK) {
                actual.remove(e.getKey());
                String key = expected.containsKey(e.getKey() + "/") ? e.getKey() + "/" : e.getKey();
                assertThat(expected).as("fls lists link %s", e.getKey()).containsKey(key);
                actual.put(key, expected.get(key));
            }
        }
        Map<String, Long> missing = new TreeMap<>(expected);
        missing.entrySet().removeAll(actual.entrySet());
        missing.keySet().removeIf(k -> {
            String a = ADDRESS.get(image + " " + (k.endsWith("/") ? k.substring(0, k.length() - 1) : k));
            return staleRecord(image, extra, a.substring(0, a.indexOf('-')));
        });
        assertThat(missing).as("listed by fls, not by coffer").isEmpty();
        Map<String, Long> extraEntries = new TreeMap<>(actual);
        extraEntries.keySet().removeAll(expected.keySet());
        assertThat(extraEntries).as("listed by coffer, not by fls").isEmpty();
    }

    /** fls -r -p -l -u as path -> size (directories: path/ -> -1), metafiles left out. */
    static Map<String, Long> fls(Path image, String... extra) {
        List<String> cmd = new ArrayList<>(List.of("fls", "-r", "-p", "-l", "-u"));
        cmd.addAll(List.of(extra));
        cmd.add(image.toString());
        Map<String, Long> out = new TreeMap<>();
        for (String line : Fixtures.run(cmd.toArray(String[]::new)).split("\n")) {
            String[] f = line.split("\t");
            if (f.length < 7 || f[1].startsWith("$") || f[1].contains("/.:")) {
                continue;
            }
            ADDRESS.put(image + " " + f[1], f[0].substring(f[0].lastIndexOf(' ') + 1, f[0].length() - 1));
            boolean dir = f[0].charAt(2) == 'd';
            out.put(dir ? f[1] + "/" : f[1], dir ? -1L : Long.parseLong(f[6]));
        }
        return out;
    }

    private static final Map<String, Boolean> STALE = new java.util.HashMap<>();

    /** fls -u still prints names whose record is free (index slack); istat tells them apart. */
    static boolean staleRecord(Path image, String[] extra, String record) {
        return STALE.computeIfAbsent(image + " " + record, k -> {
            List<String> cmd = new ArrayList<>(List.of("istat"));
            cmd.addAll(List.of(extra));
            cmd.add(image.toString());
            cmd.add(record);
            return Fixtures.run(cmd.toArray(String[]::new)).contains("Not Allocated File");
        });
    }

    static Map<String, Long> parseLs(String text) {
        Map<String, Long> out = new TreeMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            char type = line.charAt(0);
            String rest = line.substring(2).stripLeading();
            long size = Long.parseLong(rest.substring(0, rest.indexOf(' ')));
            String path = rest.substring(rest.indexOf(' ') + 1 + 20 + 1 + 1); // time (20 chars), space, leading '/'
            out.put(type == 'd' ? path + "/" : path, type == 'd' ? -1L : type == 'l' ? LINK : size);
        }
        return out;
    }

    /** Size stand-in for 'l' lines in {@link #parseLs}. */
    static final long LINK = -2;

    @Test
    void lsRecursive_asAProcess_equalsFls(@TempDir Path tmp) throws Exception {
        Path vol = rich();
        Object[] r = process(tmp, "fs", "ls", "-r", vol.toString());
        assertThat(r[0]).as("stderr: %s", r[2]).isEqualTo(0);
        Map<String, Long> ls = parseLs(Files.readString((Path) r[1]));
        assertThat(ls).hasSizeGreaterThan(3000);
        assertSameAsFls(ls, vol);
        assertThat(Files.readString((Path) r[1])).contains("l            0 ").contains(" /reparse/winlink\n")
                .contains(" /data/log.txt:Zone.Identifier\n");
    }

    @Test
    void cat_equalsIcat_forEveryKindOfStream(@TempDir Path tmp) throws Exception {
        Path vol = rich();
        String[][] cases = {{"/comp/text.txt", ""}, {"/comp/mixed.bin", ""}, {"/comp/sparse-comp.img", ""},
            {"/data/sparse.img", ""}, {"/frag/frag1.bin", ""}, {"/data/rand-1M.bin", "big stream"},
            {"/data/resident-600", ""}, {"/data", "dirinfo"}};
        try (NtfsVolume v = NtfsVolume.open(dev.coffer.ntfs.VolumeSource.of(
                java.nio.channels.FileChannel.open(vol)))) {
            for (String[] c : cases) {
                FileRecord f = v.lookup(c[0]).orElseThrow();
                fls(vol);
                String addr = c[1].isEmpty() ? f.mftRecordNumber() + "-128"
                        : ADDRESS.get(vol + " " + c[0].substring(1) + ":" + c[1]);
                String expected = Fixtures.run("bash", "-c", "icat \"$0\" \"$1\" | md5sum", vol.toString(), addr).substring(0, 32);
                Object[] r = process(tmp, "fs", "cat", vol.toString(), c[0] + (c[1].isEmpty() ? "" : ":" + c[1]));
                assertThat(r[0]).as("stderr: %s", r[2]).isEqualTo(0);
                assertThat(md5(Files.readAllBytes((Path) r[1]))).as("%s:%s", c[0], c[1]).isEqualTo(expected);
            }
        }
    }

    @Test
    void extract_copiesTreeContentAndTimes(@TempDir Path tmp) throws Exception {
        Path vol = rich();
        Path rec = tmp.resolve("tsk");
        long dataDir;
        try (NtfsVolume v = NtfsVolume.open(dev.coffer.ntfs.VolumeSource.of(java.nio.channels.FileChannel.open(vol)))) {
            dataDir = v.lookup("/data").orElseThrow().mftRecordNumber();
        }
        Fixtures.run("tsk_recover", "-a", "-d", Long.toString(dataDir), vol.toString(), rec.toString());
        Path to = tmp.resolve("out");
        Object[] r = inProcess("fs", "extract", vol.toString(), "/data", "--to", to.toString(), "--streams");
        assertThat(r[0]).as("stderr: %s", r[2]).isEqualTo(0);
        List<Path> recovered;
        try (var s = Files.walk(rec)) {
            recovered = s.filter(Files::isRegularFile).toList();
        }
        assertThat(recovered).hasSizeGreaterThan(5);
        for (Path p : recovered) {
            Path mine = to.resolve(rec.relativize(p).toString());
            assertThat(md5(Files.readAllBytes(mine))).as("%s", mine).isEqualTo(md5(Files.readAllBytes(p)));
        }
        assertThat(to.resolve("log.txt:Zone.Identifier")).hasContent("[ZoneTransfer]");
        assertThat(to.resolve("empty")).isEmptyFile();
        try (NtfsVolume v = NtfsVolume.open(dev.coffer.ntfs.VolumeSource.of(java.nio.channels.FileChannel.open(vol)))) {
            FileRecord log = v.lookup("/data/log.txt").orElseThrow();
            assertThat(Files.getLastModifiedTime(to.resolve("log.txt")).toInstant())
                    .isEqualTo(log.standardInformation().modified());
        }
        Object[] again = inProcess("fs", "extract", vol.toString(), "/data/log.txt", "--to", to.toString());
        assertThat(again[0]).isEqualTo(3);
        assertThat((String) again[2]).contains("already exists");
    }

    @Test
    void safe_neverLeavesTheDestination(@TempDir Path tmp) throws Exception {
        FsExtractCommand c = new FsExtractCommand();
        PrintWriter err = new PrintWriter(new StringWriter());
        Path root = tmp.toRealPath();
        assertThat(c.safe(root, "../evil", err)).isNull();
        assertThat(c.safe(root, "a/../../evil", err)).isNull();
        assertThat(c.safe(root, "a//b", err)).isNull();
        assertThat(c.safe(root, "..", err)).isNull();
        assertThat(c.safe(root, "a\0b", err)).isNull();
        assertThat(c.safe(root, "a/b c:d", err)).isEqualTo(root.resolve("a/b c:d"));
    }

    @Test
    void disks_rawMbrGptAndVmdk_openTheNtfsPartition(@TempDir Path tmp) throws Exception {
        for (String scheme : new String[] {"mbr", "gpt"}) {
            Path disk = Fixtures.build("disk", scheme).resolve("disk.raw");
            String offset = Fixtures.run("bash", "-c", "awk -F'\\t' '$4 ~ /ntfs/ {print $2}' \"$0\"",
                    disk.resolveSibling("partitions.txt").toString()).trim();
            Object[] r = inProcess("fs", "ls", "-r", disk.toString());
            assertThat(r[0]).as("%s stderr: %s", scheme, r[2]).isEqualTo(0);
            assertSameAsFls(parseLs((String) r[1]), disk, "-o", offset);
            Path vmdk = tmp.resolve(scheme + ".vmdk");
            Fixtures.run("qemu-img", "convert", "-f", "raw", "-O", "vmdk", disk.toString(), vmdk.toString());
            Object[] rv = inProcess("fs", "ls", "-r", vmdk.toString());
            assertThat(rv[0]).as("%s vmdk stderr: %s", scheme, rv[2]).isEqualTo(0);
            assertThat(rv[1]).isEqualTo(r[1]);
        }
        Path mbr = Fixtures.build("disk", "mbr").resolve("disk.raw");
        Object[] bad = inProcess("fs", "ls", "--partition", "9", mbr.toString());
        assertThat(bad[0]).isEqualTo(1);
        assertThat((String) bad[2]).startsWith("coffer: ").contains("no partition 9");
        Object[] missing = inProcess("fs", "cat", rich().toString(), "/no/such/file");
        assertThat(missing[0]).isEqualTo(1);
        assertThat((String) missing[2]).isEqualTo("coffer: no such file on the volume: /no/such/file\n");
    }

    @Test
    void lsJson_andStat() throws Exception {
        Object[] r = inProcess("fs", "ls", "--json", rich().toString(), "/reparse");
        assertThat(r[0]).isEqualTo(0);
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree((String) r[1]);
        assertThat(tree.isArray()).isTrue();
        Map<String, String> tags = new TreeMap<>();
        tree.forEach(n -> tags.put(n.get("path").asText(), n.path("reparseTag").asText()));
        assertThat(tags).containsEntry("/reparse/dedup", "DEDUP").containsEntry("/reparse/wof", "WOF")
                .containsEntry("/reparse/winlink", "SYMLINK").containsEntry("/reparse/junction", "MOUNT_POINT");
        Object[] s = inProcess("fs", "stat", rich().toString(), "/frag/frag0.bin");
        assertThat(s[0]).isEqualTo(0);
        assertThat((String) s[1]).contains("path: /frag/frag0.bin").contains("stream: $DATA size " + (260 * 4096));
        assertThat(((String) s[1]).lines().filter(l -> l.startsWith("  vcn ")).count()).isGreaterThan(100);
    }

    static String md5(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b));
    }
}
