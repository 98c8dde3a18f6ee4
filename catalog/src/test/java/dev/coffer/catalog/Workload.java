package dev.coffer.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A deterministic multi-generation file tree for durability tests: generation g of {@code files} files in
 * 20 directories, where each file changes with probability ~1/10 per generation, is absent with probability
 * ~1/50, and every generation adds 3 new files. The engine side ({@link #backup}) does what the agent does:
 * carry the versions whose fingerprint still matches, add the rest; {@link #verify} checks a catalog against
 * the pure function.
 */
final class Workload {
    static final String POLICY_PREFIX = "gen-";
    final int files;

    Workload(int files) {
        this.files = files;
    }

    static long mix(long x) {
        x ^= x >>> 33;
        x *= 0xff51afd7ed558ccdL;
        x ^= x >>> 33;
        x *= 0xc4ceb9fe1a85ec53L;
        return x ^ (x >>> 33);
    }

    /** The content version of file i in generation g: how many generations 1..g changed it. */
    static int contentVersion(int i, int g) {
        int v = 0;
        for (int j = 1; j <= g; j++) {
            if (Long.remainderUnsigned(mix(i * 1_000_003L + j), 10) == 0) {
                v++;
            }
        }
        return v;
    }

    /** The expected tree of generation g, by path. */
    SortedMap<String, FileRecord> expected(int g) {
        SortedMap<String, FileRecord> out = new TreeMap<>();
        out.put("/", TestFiles.dir("/", 5));
        for (int d = 0; d < 20; d++) {
            out.put("/d" + d, TestFiles.dir("/d" + d, 100 + d));
        }
        for (int i = 0; i < files; i++) {
            if (g > 0 && Long.remainderUnsigned(mix(i * 7_777L + g * 13L), 50) == 0) {
                continue;
            }
            int v = contentVersion(i, g);
            out.put(path(i), fileVersion(path(i), 1000 + i, i, v));
        }
        for (int k = 0; k < 3; k++) {
            String p = "/d" + (k % 20) + "/new-" + g + "-" + k;
            out.put(p, fileVersion(p, 900_000 + g * 10L + k, g * 10 + k, 0));
        }
        return out;
    }

    static String path(int i) {
        return "/d" + (i % 20) + "/f" + i + ".dat";
    }

    static FileRecord fileVersion(String path, long mft, long i, int v) {
        String seed = path + "#" + v;
        int chunks = (int) (i % 3);
        String[] parts = new String[chunks];
        for (int c = 0; c < chunks; c++) {
            parts[c] = seed + "/" + c + "/" + "x".repeat((int) ((i * 7 + c) % 50));
        }
        return TestFiles.file(path, mft, mix(seed.hashCode()) & 0x7fffffffffffL, parts);
    }

    /** Backs up generation g the way the engine does (incremental over the latest complete backup); returns the backup id. */
    long backup(Catalog cat, long vm, long vol, int g) throws CatalogException {
        long b = cat.beginBackup(vm, Instant.ofEpochSecond(1_700_000_000L + g), "storage-snapshot", POLICY_PREFIX + g);
        SortedMap<String, FileRecord> want = expected(g);
        Map<String, LiveVersion> live = new HashMap<>();
        var prev = cat.latest(vm);
        if (prev.isPresent()) {
            cat.forEachLiveVersion(vol, prev.get().id(), v -> live.put(v.path(), v));
        }
        try (FileIngest in = cat.ingest(b, vol)) {
            for (FileRecord f : want.values()) {
                LiveVersion old = live.get(f.path());
                if (old != null && old.fingerprint() == f.fingerprint() && old.size() == f.size()) {
                    in.carry(old.versionId());
                } else {
                    in.add(f);
                }
            }
            in.finish();
        }
        cat.markComplete(b, Instant.ofEpochSecond(1_700_000_100L + g));
        return b;
    }

    /** Checks every complete backup in the catalog shows exactly its generation's tree and blocks; returns the highest generation (-1: none). */
    int verify(Catalog cat, long vol) throws CatalogException {
        int highest = -1;
        for (BackupInfo b : cat.backups()) {
            assertThat(b.state()).isIn(BackupState.COMPLETE, BackupState.FAILED, BackupState.RUNNING);
            if (b.state() != BackupState.COMPLETE) {
                continue;
            }
            int g = Integer.parseInt(b.policy().substring(POLICY_PREFIX.length()));
            highest = Math.max(highest, g);
            SortedMap<String, FileRecord> want = expected(g);
            SortedMap<String, Entry> got = new TreeMap<>();
            walk(cat, b.id(), vol, "/", got);
            got.put("/", cat.stat(b.id(), vol, "/").orElseThrow().entry());
            assertThat(got.keySet()).as("paths of backup %d (generation %d)", b.id(), g).isEqualTo(want.keySet());
            for (FileRecord f : want.values()) {
                Entry e = got.get(f.path());
                assertThat(e.size()).as(f.path()).isEqualTo(f.size());
                assertThat(e.fingerprint()).as(f.path()).isEqualTo(f.fingerprint());
                assertThat(e.kind()).as(f.path()).isEqualTo(f.kind());
            }
            // blocks of a sample of files, byte-exact hashes
            int n = 0;
            for (FileRecord f : want.values()) {
                if (f.kind() != FileKind.FILE || n++ % 7 != 0) {
                    continue;
                }
                List<FileBlock> blocks = cat.blocks(b.id(), vol, f.path(), "");
                List<String> gotSha = new ArrayList<>();
                blocks.forEach(x -> gotSha.add(java.util.HexFormat.of().formatHex(x.sha256()) + "@" + x.offset()));
                List<String> wantSha = new ArrayList<>();
                f.streams().get(0).blocks().forEach(r -> wantSha.add(r.block().sha256Hex() + "@" + r.offset()));
                assertThat(gotSha).as("blocks of %s in backup %d", f.path(), b.id()).isEqualTo(wantSha);
            }
            assertThat(b.files()).as("files total of backup %d", b.id())
                    .isEqualTo(want.values().stream().filter(f -> f.kind() != FileKind.DIRECTORY).count());
        }
        return highest;
    }

    static void walk(Catalog cat, long b, long vol, String dir, SortedMap<String, Entry> out) throws CatalogException {
        for (int off = 0; ; off += 500) {
            Page<Entry> p = cat.list(b, vol, dir, off, 500);
            for (Entry e : p.items()) {
                out.put(e.path(), e);
                if (e.kind() == FileKind.DIRECTORY) {
                    walk(cat, b, vol, e.path(), out);
                }
            }
            if (off + 500 >= p.total()) {
                return;
            }
        }
    }

    /** Registers the single VM/disk/volume the workload uses (idempotent); returns {vm, volume}. */
    static long[] register(Catalog cat) throws CatalogException {
        long ds = cat.datastore("/vmfs/volumes/ds");
        long vm = cat.vm(ds, "vm1", "VM 1", null);
        long disk = cat.disk(vm, "scsi0:0", "/vmfs/volumes/ds/vm1/vm1.vmdk", List.of("vm1.vmdk"), 1L << 30);
        long vol = cat.volume(disk, 1, 1 << 20, (1L << 30) - (1 << 20), "ntfs", "0102", 4096);
        return new long[] {vm, vol};
    }
}
