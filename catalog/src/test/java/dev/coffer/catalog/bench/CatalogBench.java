package dev.coffer.catalog.bench;

import dev.coffer.catalog.BackupInfo;
import dev.coffer.catalog.Block;
import dev.coffer.catalog.BlockRef;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.CatalogException;
import dev.coffer.catalog.CatalogOptions;
import dev.coffer.catalog.DiffEntry;
import dev.coffer.catalog.FileIngest;
import dev.coffer.catalog.FileKind;
import dev.coffer.catalog.FileRecord;
import dev.coffer.catalog.IngestResult;
import dev.coffer.catalog.Run;
import dev.coffer.catalog.StreamRecord;
import dev.coffer.catalog.VersionSpan;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Builds a synthetic catalog of {@code files} files x {@code backups} backups (1% of files changed per
 * backup, 0.1% deleted, 0.1% added) through the public API, exactly as the backup engine would, and times
 * ingest and the queries the CLI and query server run. Prints one "name value unit" line per figure.
 *
 * <p>Layout: "/big" holds 10,000 files (the listing target); the rest sit 100 per directory under
 * "/tree/pA/qB". Names are "WORD-NNNNNNN.EXT"; each file's unnamed stream has 1-8 blocks (mean ~1.6) of up
 * to 1 MiB with pseudo-random SHA-256/MD5 and one cluster run. Run: scripts/bench-catalog.
 */
public final class CatalogBench {
    static final String[] WORDS = {"report", "invoice", "photo", "setup", "notes", "backup", "driver", "cache",
        "letter", "budget", "index", "thumb", "video", "mail", "log", "data"};
    static final String[] EXTS = {"pdf", "docx", "jpg", "dll", "txt", "log", "xlsx", "dat"};
    static final int BIG_DIR = 10_000;

    final int files;
    final int backups;
    final Path dir;
    final PrintStream out;
    /** Time the queries on the catalog a previous run left in {@code dir}, without rebuilding it. */
    boolean reuse;
    /** Files per ingest transaction; 0 = the catalog's default. */
    int batch;
    /** Stop after the full ingest (for profiling it). */
    boolean ingestOnly;
    final Map<String, Double> figures = new LinkedHashMap<>();
    /** per file index: its current content generation (changes bump it); -1 = deleted. */
    int[] gen;
    int total;

    public CatalogBench(int files, int backups, Path dir, PrintStream out) {
        this.files = files;
        this.backups = backups;
        this.dir = dir;
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        int files = 1_000_000;
        boolean reuse = false;
        int batch = 0;
        boolean ingestOnly = false;
        int backups = 30;
        Path dir = Path.of("target", "bench-catalog");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--files": files = Integer.parseInt(args[++i]); break;
                case "--backups": backups = Integer.parseInt(args[++i]); break;
                case "--dir": dir = Path.of(args[++i]); break;
                case "--reuse": reuse = true; break;
                case "--ingest-only": ingestOnly = true; break;
                case "--batch": batch = Integer.parseInt(args[++i]); break;
                default: throw new IllegalArgumentException("usage: CatalogBench [--files N] [--backups N] [--dir D] [--reuse] [--batch N] [--ingest-only]");
            }
        }
        CatalogBench bench = new CatalogBench(files, backups, dir, System.out);
        bench.batch = batch;
        bench.ingestOnly = ingestOnly;
        bench.reuse = reuse;
        if (reuse) {
            bench.queriesOnly();
        } else {
            bench.run();
        }
    }

    static long mix(long x) {
        x ^= x >>> 33;
        x *= 0xff51afd7ed558ccdL;
        x ^= x >>> 33;
        x *= 0xc4ceb9fe1a85ec53L;
        return x ^ (x >>> 33);
    }

    static String name(int i) {
        long m = mix(i);
        String n = Integer.toString(i);
        return WORDS[(int) (m & 15)] + "-" + "0000000".substring(Math.min(7, n.length())) + n + "."
                + EXTS[(int) ((m >>> 8) & 7)];
    }

    String path(int i) {
        if (i < BIG_DIR) {
            return "/big/" + name(i);
        }
        int j = i - BIG_DIR;
        return "/tree/p" + (j / 10_000) + "/q" + (j / 100 % 100) + "/" + name(i);
    }

    static Block block(long seed, long size) {
        ByteBuffer sha = ByteBuffer.allocate(32);
        for (int k = 0; k < 4; k++) {
            sha.putLong(mix(seed * 4 + k));
        }
        ByteBuffer md5 = ByteBuffer.allocate(16);
        md5.putLong(mix(~seed)).putLong(mix(seed ^ 0x5555));
        return new Block(sha.array(), md5.array(), size);
    }

    FileRecord file(int i, int g) {
        long h = mix(i * 1_000_003L + g);
        int nblocks = (h & 7) == 0 ? 8 : (h & 3) == 0 ? 3 : 1; // mean ~1.6
        long last = 1 + (h >>> 40) % (1 << 20);
        h &= Long.MAX_VALUE;
        long size = (nblocks - 1) * (1L << 20) + last;
        List<BlockRef> refs = new ArrayList<>(nblocks);
        for (int k = 0; k < nblocks; k++) {
            refs.add(new BlockRef(k * (1L << 20), block(h + k, k == nblocks - 1 ? last : 1 << 20)));
        }
        long lcn = (h >>> 20) % 100_000_000L;
        List<Run> runs = List.of(new Run(lcn, (size + 4095) / 4096));
        long t = 1_600_000_000_000_000_000L + h % 1_000_000_000_000_000L;
        return new FileRecord(path(i), 64 + i, 1 + g, 5, FileKind.FILE, size, t, t + g, t + g, t + g, 0x20,
                h, List.of(new StreamRecord("", size, refs, runs)));
    }

    List<FileRecord> dirs() {
        List<FileRecord> d = new ArrayList<>();
        d.add(dirRec("/", 5));
        d.add(dirRec("/big", 6));
        d.add(dirRec("/tree", 7));
        int rest = files - Math.min(files, BIG_DIR);
        for (int p = 0; p * 10_000 < rest; p++) {
            d.add(dirRec("/tree/p" + p, 10_000_000 + p));
            for (int q = 0; q < 100 && p * 10_000 + q * 100 < rest; q++) {
                d.add(dirRec("/tree/p" + p + "/q" + q, 20_000_000 + p * 100 + q));
            }
        }
        return d;
    }

    static FileRecord dirRec(String p, long mft) {
        return new FileRecord(p, mft, 1, 5, FileKind.DIRECTORY, 0, 1, 1, 1, 1, 0x10, mft, List.of());
    }

    void figure(String name, double value, String unit) {
        figures.put(name, value);
        if (unit.startsWith("ms") && lastCpuMs >= 0) {
            unit = unit + "  [cpu " + String.format("%.1f", lastCpuMs) + " ms]";
        }
        lastCpuMs = -1;
        out.printf("%-46s %12.1f %s%n", name, value, unit);
        out.flush();
    }

    public Map<String, Double> run() throws Exception {
        Files.createDirectories(dir);
        Path db = dir.resolve("bench.db");
        for (String s : new String[] {"", "-wal", "-shm"}) {
            Files.deleteIfExists(dir.resolve("bench.db" + s));
        }
        out.printf("catalog bench: %d files x %d backups, 1%% churn, db %s%n", files, backups, db);
        gen = new int[files + files / 10 + 1000];
        Arrays.fill(gen, -1);
        for (int i = 0; i < files; i++) {
            gen[i] = 0;
        }
        total = files;
        long t;
        CatalogOptions opts = batch > 0 ? CatalogOptions.defaults().withBatchFiles(batch) : CatalogOptions.defaults();
        try (Catalog cat = Catalog.open(db, opts)) {
            long ds = cat.datastore("/vmfs/volumes/bench");
            long vm = cat.vm(ds, "bench", "bench", null);
            long disk = cat.disk(vm, "scsi0:0", "/vmfs/volumes/bench/bench/bench.vmdk", List.of("bench.vmdk"), 1L << 40);
            long vol = cat.volume(disk, 1, 1 << 20, 1L << 40, "ntfs", "BENCH", 4096);

            // generation cost alone, so the ingest figure can be read both ways
            t = System.nanoTime();
            long c0 = processCpu();
            long sink = 0;
            for (int i = 0; i < files; i++) {
                sink += file(i, 0).size();
            }
            double genSec = (System.nanoTime() - t) / 1e9;
            double genSecCpu = (processCpu() - c0) / 1e9;
            figure("generate records only", files / genSec, "files/s (" + (sink & 1) + ")");

            // full backup
            long b = cat.beginBackup(vm, Instant.EPOCH, "storage-snapshot", "bench");
            t = System.nanoTime();
            long cpu0 = processCpu();
            long rows = 0;
            long tFinish;
            try (FileIngest in = cat.ingest(b, vol)) {
                for (FileRecord d : dirs()) {
                    in.add(d);
                    rows++;
                }
                for (int i = 0; i < files; i++) {
                    FileRecord f = file(i, 0);
                    in.add(f);
                    rows += 2 + f.streams().get(0).blocks().size();
                }
                tFinish = System.nanoTime();
                in.finish();
            }
            double finishSec = (System.nanoTime() - tFinish) / 1e9;
            double ingestSec = (System.nanoTime() - t) / 1e9;
            double ingestCpu = (processCpu() - cpu0) / 1e9 - genSecCpu;
            t = System.nanoTime();
            cat.markComplete(b, Instant.EPOCH);
            double completeSec = (System.nanoTime() - t) / 1e9;
            figure("full ingest", files / ingestSec, "files/s");
            figure("full ingest rows", rows / ingestSec, "rows/s (version+stream+block rows)");
            figure("full ingest time", ingestSec, "s");
            figure("full ingest: of which finish", finishSec, "s");
            figure("full ingest (process CPU time, minus generation)", files / ingestCpu, "files/s");
            figure("full ingest rows (process CPU time, minus generation)", rows / ingestCpu, "rows/s");
            figure("full markComplete", completeSec * 1000, "ms");
            if (ingestOnly) {
                return figures;
            }

            // incremental backups
            long[] versionOf = new long[gen.length + 64];
            double liveSum = 0;
            double ingestIncSum = 0;
            double completeSum = 0;
            long first = b;
            long mid = b;
            int nextNew = files;
            for (int k = 1; k < backups; k++) {
                long prev = b;
                b = cat.beginBackup(vm, Instant.EPOCH.plusSeconds(k), "storage-snapshot", "bench");
                t = System.nanoTime();
                int[] n = {0};
                cat.forEachLiveVersion(vol, prev, v -> {
                    if (v.mftRecord() >= 64 && v.mftRecord() < 64 + versionOf.length) {
                        versionOf[(int) (v.mftRecord() - 64)] = v.versionId();
                    }
                    n[0]++;
                });
                double live = (System.nanoTime() - t) / 1e9;
                liveSum += live;
                t = System.nanoTime();
                IngestResult r;
                try (FileIngest in = cat.ingest(b, vol)) {
                    List<FileRecord> ds2 = dirs();
                    // directories are unchanged: carry them (their versions are keyed by path here)
                    Map<Long, Long> dirVersions = new java.util.HashMap<>();
                    cat.forEachLiveVersion(vol, prev, v -> {
                        if (v.mftRecord() < 64 || v.mftRecord() >= 10_000_000) {
                            dirVersions.put(v.mftRecord(), v.versionId());
                        }
                    });
                    for (FileRecord d : ds2) {
                        in.carry(dirVersions.get(d.mftRecord()));
                    }
                    for (int i = 0; i < nextNew; i++) {
                        if (gen[i] < 0) {
                            continue;
                        }
                        long h = Long.remainderUnsigned(mix(i * 31L + k * 1_000_000_007L), 1000);
                        if (h < 10) { // 1% changed
                            gen[i]++;
                            in.add(file(i, gen[i]));
                        } else if (h == 10 && i >= BIG_DIR) { // 0.1% deleted
                            gen[i] = -1;
                        } else {
                            in.carry(versionOf[i]);
                        }
                    }
                    for (int a = 0; a < files / 1000 && nextNew < gen.length; a++, nextNew++) { // 0.1% new
                        gen[nextNew] = 0;
                        in.add(file(nextNew, 0));
                    }
                    r = in.finish();
                }
                double inc = (System.nanoTime() - t) / 1e9;
                ingestIncSum += inc;
                t = System.nanoTime();
                BackupInfo info = cat.markComplete(b, Instant.EPOCH.plusSeconds(k));
                double comp = (System.nanoTime() - t) / 1e9;
                completeSum += comp;
                if (k == backups / 2) {
                    mid = b;
                }
                if (k == 1 || k == backups - 1 || k % 10 == 0) {
                    out.printf("  backup %d: live %d rows in %.2fs, ingest (added %d carried %d closed %d) %.2fs,"
                            + " complete %.2fs, files %d%n", k + 1, n[0], live, r.added(), r.carried(), r.closed(),
                            inc, comp, info.files());
                }
            }
            int inc = Math.max(1, backups - 1);
            figure("incremental: stream live versions", liveSum / inc * 1000, "ms per backup (mean)");
            figure("incremental: ingest+finish", ingestIncSum / inc * 1000, "ms per backup (mean)");
            figure("incremental: markComplete", completeSum / inc * 1000, "ms per backup (mean)");
            long last = b;
            long middle = mid;

            queries(cat, vm, vol, first, middle, last, backups);

            Path copy = dir.resolve("bench-copy.db");
            t = System.nanoTime();
            long copyBytes = cat.copyTo(copy);
            figure("copyTo incl. integrity_check", (System.nanoTime() - t) / 1e6, "ms (" + copyBytes / (1 << 20) + " MiB)");
            Files.deleteIfExists(copy);
        }
        long size = Files.size(db);
        long wal = Files.exists(dir.resolve("bench.db-wal")) ? Files.size(dir.resolve("bench.db-wal")) : 0;
        figure("database size", (size + wal) / 1048576.0, "MiB");
        return figures;
    }

    /** Times every query; median of 7 runs after 2 warm-ups. */
    void queries(Catalog cat, long vm, long vol, long first, long middle, long last, int backups) throws Exception {
        long t;
            figure("ls 10k dir (latest, all entries)", median(() -> check(cat.list(last, vol, "/big", 0, BIG_DIR).items().size() > 0)), "ms");
            figure("ls 10k dir (first backup)", median(() -> check(cat.list(first, vol, "/big", 0, BIG_DIR).items().size() > 0)), "ms");
            figure("ls 10k dir (page of 100 @5000)", median(() -> check(cat.list(last, vol, "/big", 5000, 100).items().size() == 100)), "ms");
            figure("ls 100-entry dir", median(() -> check(cat.list(last, vol, "/tree/p0/q7", 0, 1000).items().size() > 0)), "ms");
            String target = String.format("*-%07d.*", files / 2 + 1);
            figure("find glob " + target + " all backups", median(() -> check(!cat.findGlob(target, OptionalLong.empty(), 1000).isEmpty())), "ms");
            String prefix = String.format("report-%05d*", files / 200);
            figure("find glob " + prefix + " all backups", median(() -> check(cat.findGlob(prefix, OptionalLong.empty(), 1000) != null)), "ms");
            figure("find glob " + target + " one backup", median(() -> check(cat.findGlob(target, OptionalLong.of(last), 1000) != null)), "ms");
            figure("find regex ^invoice-00042..\\.pdf$ all", median(() -> check(cat.findRegex("^invoice-00042..\\.pdf$", OptionalLong.empty(), 1000) != null)), "ms");
            int busy = busiest(backups);
            String hp = path(busy);
            java.util.concurrent.atomic.AtomicReference<List<VersionSpan>> hist = new java.util.concurrent.atomic.AtomicReference<>();
            figure("history of a path", median(() -> {
                hist.set(cat.history(vol, hp));
                check(!hist.get().isEmpty());
            }), "ms (" + hist.get().size() + " versions)");
            figure("stat", median(() -> check(cat.stat(last, vol, hp).isPresent())), "ms");
            figure("blocks of a file", median(() -> check(!cat.blocks(last, vol, path(8), "").isEmpty())), "ms");
            java.util.concurrent.atomic.AtomicReference<List<DiffEntry>> d = new java.util.concurrent.atomic.AtomicReference<>();
            figure("diff consecutive backups", median(() -> d.set(cat.diff(last - 1, last))), "ms (" + d.get().size() + " entries)");
            figure("diff first..last", median(() -> d.set(cat.diff(first, last))), "ms (" + d.get().size() + " entries)");
            figure("diff first..mid", median(() -> d.set(cat.diff(first, middle))), "ms (" + d.get().size() + " entries)");
            figure("backups list with totals", median(() -> check(cat.backups(vm).size() == backups)), "ms");
            byte[] sha = cat.blocks(last, vol, path(8), "").get(0).sha256();
            t = System.nanoTime();
            int uses = cat.backupsReferencing(sha).size();
            figure("which backups reference a block", (System.nanoTime() - t) / 1e6, "ms (" + uses + " uses, one run)");
            treeRestore(cat, vol, last);
            t = System.nanoTime();
            long[] refs = {0};
            cat.forEachReferencedBlock(List.of(last), s -> refs[0]++);
            figure("referenced blocks of latest backup", (System.nanoTime() - t) / 1e3 / 1e3, "ms (" + refs[0] + " blocks, one run)");

    }

    /**
     * The restore selection: forEachFileUnder over a 10,000-file subtree (median of 3) and over the whole volume
     * (one run), against stat() + blocks() per file for the first 2,000 files of the subtree.
     */
    void treeRestore(Catalog cat, long vol, long last) throws Exception {
        String sub = "/tree/p1";
        long[] n = {0, 0};
        double[] ms = new double[3];
        for (int i = 0; i < ms.length; i++) {
            n[0] = 0;
            n[1] = 0;
            long t = System.nanoTime();
            cat.forEachFileUnder(last, vol, sub, f -> {
                n[0]++;
                n[1] += f.streams().get(0).blocks().size();
            });
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        figure("forEachFileUnder " + sub, n[0] / (ms[1] / 1e3), "files/s (" + n[0] + " files, " + n[1] + " blocks, "
                + String.format("%.0f", ms[1]) + " ms)");
        List<String> paths = new ArrayList<>();
        cat.forEachFileUnder(last, vol, sub, f -> {
            if (paths.size() < 2000) {
                paths.add(f.entry().path());
            }
        });
        long t = System.nanoTime();
        for (String p : paths) {
            cat.stat(last, vol, p).orElseThrow().streams().forEach(s -> { });
            check(!cat.blocks(last, vol, p, "").isEmpty());
        }
        double perFile = (System.nanoTime() - t) / 1e9;
        figure("stat+blocks per file (same subtree)", paths.size() / perFile, "files/s (" + paths.size() + " files)");
        n[0] = 0;
        t = System.nanoTime();
        long c = cpu();
        cat.forEachFileUnder(last, vol, "/", f -> n[0]++);
        double all = (System.nanoTime() - t) / 1e9;
        lastCpuMs = (cpu() - c) / 1e6;
        figure("forEachFileUnder / (whole volume)", n[0] / all, "files/s (" + n[0] + " files, "
                + String.format("%.1f", all) + " s, cpu " + String.format("%.1f", lastCpuMs / 1e3) + " s, one run)");
    }

    /** Re-times the queries on the catalog of an earlier full run (same --files and --backups). */
    public Map<String, Double> queriesOnly() throws Exception {
        Path db = dir.resolve("bench.db");
        out.printf("catalog bench (queries only): %s%n", db);
        try (Catalog cat = Catalog.open(db)) {
            List<BackupInfo> all = cat.backups(1);
            long first = all.get(0).id();
            long last = all.get(all.size() - 1).id();
            long mid = all.get(all.size() / 2).id();
            gen = new int[files];
            int best = 0;
            int bestN = 0;
            for (int i = 0; i < 3000; i++) {
                int n = cat.history(1, path(i)).size();
                if (n > bestN) {
                    best = i;
                    bestN = n;
                }
            }
            gen[best] = 1;
            queries(cat, 1, 1, first, mid, last, all.size());
        }
        return figures;
    }

    int busiest(int backups) {
        // the file changed most often: a real history with several versions
        int best = 0;
        int bestGen = -1;
        for (int i = 0; i < files; i++) {
            if (gen[i] > bestGen) {
                best = i;
                bestGen = gen[i];
            }
        }
        return best;
    }

    interface Timed {
        void run() throws CatalogException;
    }

    static void check(boolean ok) {
        if (!ok) {
            throw new IllegalStateException("bench query returned an unexpected answer");
        }
    }

    /** CPU time of this thread in ns: SQLite runs in the calling thread, so this is the catalog's own work. */
    /**
     * CPU time of the whole process in ns: ingest work also runs on the catalog's checkpoint thread (and the JVM's
     * GC and JIT threads are counted too, which only makes the figure conservative).
     */
    static long processCpu() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static long cpu() {
        return java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    }

    /** Median wall-clock ms of 7 runs after 2 warm-ups; {@link #lastCpuMs} gets the median CPU ms. */
    double median(Timed q) throws CatalogException {
        for (int i = 0; i < 2; i++) {
            q.run();
        }
        double[] ms = new double[7];
        double[] cp = new double[7];
        for (int i = 0; i < ms.length; i++) {
            long c = cpu();
            long t = System.nanoTime();
            q.run();
            ms[i] = (System.nanoTime() - t) / 1e6;
            cp[i] = (cpu() - c) / 1e6;
        }
        Arrays.sort(ms);
        Arrays.sort(cp);
        lastCpuMs = cp[cp.length / 2];
        return ms[ms.length / 2];
    }

    double lastCpuMs = -1;

}
