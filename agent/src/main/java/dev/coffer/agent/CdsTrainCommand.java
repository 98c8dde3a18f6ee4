package dev.coffer.agent;

import dev.coffer.agent.daemon.AgentDaemon;
import dev.coffer.agent.daemon.DaemonOptions;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * Hidden: runs the everyday commands once against the sample datastore so the launcher can record
 * the classes they load in a class-data-sharing archive ({@code -XX:ArchiveClassesAtExit}). Later
 * starts map that archive instead of loading and verifying those classes again, which is most of a
 * short command's run time.
 */
@Command(name = "cds-train", hidden = true, description = "Warm-up run for the launcher's CDS archive.")
final class CdsTrainCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "Sample datastore (docs/examples/datastore).")
    Path datastore;

    @Override
    public Integer call() throws Exception {
        Path vmdk = datastore.resolve("demo-vm").resolve("demo-vm.vmdk");
        Path tmp = Files.createTempDirectory("coffer-cds");
        String catalog = tmp.resolve("catalog.db").toString();
        String store = tmp.resolve("store").toString();
        List<String[]> runs = List.of(
                new String[] {"--help"},
                new String[] {"image", "info", "--json", vmdk.toString()},
                new String[] {"image", "partitions", vmdk.toString()},
                new String[] {"image", "map", vmdk.toString()},
                new String[] {"fs", "ls", "-r", vmdk.toString()},
                new String[] {"fs", "ls", "-r", "--json", vmdk.toString()},
                new String[] {"fs", "cat", vmdk.toString(), "/Documents/hello.txt"},
                new String[] {"fs", "stat", vmdk.toString(), "/Documents/hello.txt"},
                // backup, backups, ls, find, diff and restore: the catalog, the store and logging
                new String[] {"demo", "--examples", datastore.getParent().toString()},
                // a restore as an operator types it, of a file of several chunks (resume journal, both
                // worker pools): the demo restores one small file only
                new String[] {"backup", "--no-throttle", "--catalog", catalog, "--destination", store,
                        datastore.resolve("demo-vm").toString()},
                // an incremental, whose summary is JSON (PlainJson)
                new String[] {"backup", "--json", "--no-throttle", "--catalog", catalog, "--destination", store,
                        datastore.resolve("demo-vm").toString()},
                new String[] {"restore", "--catalog", catalog, "--destination", store,
                        "latest:/Documents/Reports/data.bin", "--to", tmp.resolve("restored").toString()});
        PrintWriter sink = new PrintWriter(OutputStream.nullOutputStream());
        try {
            for (String[] args : runs) {
                Warmup.start(args); // its classes too: a class the archive lacks makes the start read the jar's directory (~15 ms)
                Main.run(args, sink, sink);
            }
            throughAgent(datastore, tmp, catalog, store, sink);
            // what a start loads when its threads race: a logger asked for while SLF4J starts on another thread
            Class.forName("org.slf4j.helpers.SubstituteLogger");
            // what the demo's files are too small to need: a restored file's background write-back (8 MiB
            // and more), which a one-file restore of the reference workload loads in its data phase
            Class.forName("dev.coffer.agent.restore.PartialFile$WriteBack");
        } finally {
            try (Stream<Path> all = Files.walk(tmp)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return ExitCodes.OK;
    }

    /**
     * A restore as an operator runs it beside the daemon: {@code restore --socket}, which has the agent
     * restore and follows the job (the socket client, JSON both ways). A real agent, on the catalog and
     * store the runs above made, in this process. Training only: a failure leaves those classes out of
     * the archive, nothing else.
     */
    private static void throughAgent(Path datastore, Path tmp, String catalog, String store, PrintWriter sink) {
        Path socket = tmp.resolve("q.sock");
        Path config = tmp.resolve("agent.yaml");
        try {
            Files.writeString(config, "catalog: " + catalog + "\n"
                    + "destination:\n  store: " + store + "\n"
                    + "datastores:\n  - name: examples\n    path: " + datastore + "\n"
                    + "query:\n  socket: " + socket + "\n");
            try (AgentDaemon daemon = new AgentDaemon(config, DaemonOptions.defaults(), Clock.systemDefaultZone())) {
                daemon.start();
                String[] args = {"restore", "--socket", socket.toString(), "latest:/Documents/Reports/data.bin",
                        "--to", tmp.resolve("via-agent").toString()};
                Warmup.start(args);
                Main.run(args, sink, sink);
            }
        } catch (Exception | LinkageError e) {
            // see above
        }
    }
}
