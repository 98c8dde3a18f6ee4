package dev.coffer.catalog;

import java.nio.file.Path;
import java.time.Instant;

/**
 * The child process of {@link CrashTest}: opens the catalog, fails whatever backup a previous (killed)
 * child left running, then backs up one workload generation after another forever, printing
 * "committed G" after each markComplete returned. The parent kills it with SIGKILL at a random moment.
 */
public final class CrashIngestChild {
    private CrashIngestChild() {}

    public static void main(String[] args) throws Exception {
        Path db = Path.of(args[0]);
        Workload w = new Workload(Integer.parseInt(args[1]));
        int batch = Integer.parseInt(args[2]);
        try (Catalog cat = Catalog.open(db, CatalogOptions.defaults().withBatchFiles(batch))) {
            cat.failInterrupted(Instant.now(), "killed");
            long[] ids = Workload.register(cat);
            int g = cat.latest(ids[0]).map(b -> Integer.parseInt(b.policy().substring(Workload.POLICY_PREFIX.length())) + 1)
                    .orElse(0);
            System.out.println("ready " + g);
            System.out.flush();
            while (true) {
                w.backup(cat, ids[0], ids[1], g);
                System.out.println("committed " + g);
                System.out.flush();
                g++;
            }
        }
    }
}
