package dev.coffer.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a real child JVM that ingests backups (SIGKILL via destroyForcibly) at random moments, then reopens
 * the catalog and checks: integrity_check passes, every complete backup shows exactly its generation's tree
 * and blocks, every backup the child reported committed is complete, and the interrupted backup is not
 * shown as complete.
 */
class CrashTest {
    @TempDir
    Path tmp;

    static final int ROUNDS = 8;

    @Test
    void killedIngest_leavesLastCommittedStateIntact() throws Exception {
        Path db = tmp.resolve("crash.db");
        Workload w = new Workload(150);
        long seed = System.nanoTime();
        Random rnd = new Random(seed);
        int committedSoFar = -1;
        int interruptedRunning = 0;
        for (int round = 0; round < ROUNDS; round++) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                    CrashIngestChild.class.getName(), db.toString(), "150", "20");
            pb.redirectErrorStream(true);
            Process p = pb.start();
            AtomicInteger lastCommitted = new AtomicInteger(-1);
            List<String> output = new ArrayList<>();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        synchronized (output) {
                            output.add(line);
                        }
                        if (line.startsWith("committed ")) {
                            lastCommitted.set(Integer.parseInt(line.substring(10)));
                        }
                    }
                } catch (Exception ignored) {
                    // the pipe breaks when the child dies
                }
            });
            reader.start();
            // wait until it is ingesting, then kill at a random point inside the following backups
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (outputHas(output, "ready") == null && System.nanoTime() < deadline && p.isAlive()) {
                Thread.sleep(5);
            }
            assertThat(outputHas(output, "ready")).as("child output (seed %d): %s", seed, output).isNotNull();
            Thread.sleep(50 + rnd.nextInt(900));
            p.destroyForcibly();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            reader.join(10_000);
            assertThat(p.exitValue()).as("child must die by the kill, not on its own: %s", output).isEqualTo(137);
            committedSoFar = Math.max(committedSoFar, lastCommitted.get());

            try (Catalog cat = Catalog.open(db)) {
                cat.checkIntegrity();
                int highest = w.verify(cat, 1);
                assertThat(highest).as("seed %d round %d: reported committed %d", seed, round, committedSoFar)
                        .isGreaterThanOrEqualTo(committedSoFar);
                // a backup may have been running when the kill came; it must not look complete
                for (BackupInfo b : cat.backups()) {
                    if (b.state() == BackupState.RUNNING) {
                        interruptedRunning++;
                        int g = Integer.parseInt(b.policy().substring(Workload.POLICY_PREFIX.length()));
                        assertThat(g).isEqualTo(highest + 1);
                        assertThat(cat.latest(b.vmId()).map(BackupInfo::id).orElse(0L)).isLessThan(b.id());
                    }
                }
                committedSoFar = highest;
            }
        }
        System.out.printf("crash test seed=%d rounds=%d generations=%d killed-mid-backup=%d%n", seed, ROUNDS,
                committedSoFar, interruptedRunning);
        assertThat(committedSoFar).as("the children made progress across kills").isGreaterThanOrEqualTo(2);
        assertThat(interruptedRunning).as("some kills landed mid-backup (seed %d)", seed).isGreaterThan(0);
        assertThat(Files.size(db)).isPositive();
    }

    private static String outputHas(List<String> output, String prefix) {
        synchronized (output) {
            return output.stream().filter(l -> l.startsWith(prefix)).findFirst().orElse(null);
        }
    }
}
