package dev.coffer.agent.cli;

import dev.coffer.agent.ExitCodes;
import dev.coffer.agent.backup.BackupJob;
import dev.coffer.agent.backup.BackupOptions;
import dev.coffer.agent.backup.CatalogLock;
import dev.coffer.agent.backup.Counters;
import dev.coffer.agent.discovery.Discovery;
import dev.coffer.agent.discovery.DiscoveryException;
import dev.coffer.agent.discovery.VirtualMachine;
import dev.coffer.agent.pit.LiveSource;
import dev.coffer.agent.pit.PointInTime;
import dev.coffer.agent.pit.ReflinkCloneSource;
import dev.coffer.agent.pit.StorageSnapshotSource;
import dev.coffer.agent.pit.VmSnapshotSource;
import dev.coffer.vmdk.VirtualDisk;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Map.Entry;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code coffer backup VMFOLDER|DISK}: one backup now, with progress on a terminal and a summary. */
@Command(name = "backup", mixinStandardHelpOptions = true,
        description = "Back up a VM folder (its .vmx names the disks) or a single virtual disk.")
public final class BackupCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SessionOptions session;

    @Parameters(index = "0", paramLabel = "VMFOLDER|DISK")
    Path target;

    @Option(names = "--source", paramLabel = "KIND",
            description = "Point in time: auto (frozen parents of an active VM snapshot, else live), live,"
                    + " vm-snapshot, reflink, storage-snapshot. Default: auto (through the agent with --policy: the policy's).")
    String source;

    @Option(names = "--snapshot", paramLabel = "NAME", description = "The storage snapshot to read (storage-snapshot).")
    String snapshot;

    @Option(names = "--snapshot-template", paramLabel = "TEMPLATE",
            description = "Where storage snapshots appear. Default: " + DEFAULT_TEMPLATE + " (the agent's: the datastore's snapshots).")
    String snapshotTemplate;

    static final String DEFAULT_TEMPLATE = "{datastore}/.snapshot/{snapshot}";

    @Option(names = "--block-size", paramLabel = "BYTES", description = "Block size, a power of two (e.g. 1MiB).")
    String blockSize;

    @Option(names = "--policy", paramLabel = "NAME", defaultValue = "manual", description = "Recorded with the backup.")
    String policy;

    @Option(names = "--json", description = "Print the summary as JSON.")
    boolean json;

    @Option(names = "--no-throttle", description = "Read at full speed: no load-aware pacing, no idle I/O class.")
    boolean noThrottle;

    @Option(names = "--full", description = {"Read and hash every file again, trusting neither the previous backup's"
            + " file metadata nor the snapshot delta. Only blocks the destination lacks are still sent."})
    boolean full;

    /** Where output goes when {@link BackupLine} read the command line (and picocli set no {@link #spec}). */
    PrintWriter out;
    PrintWriter err;

    private PrintWriter out() {
        return spec != null ? spec.commandLine().getOut() : out;
    }

    private PrintWriter err() {
        return spec != null ? spec.commandLine().getErr() : err;
    }

    @Override
    public Integer call() throws Exception {
        Path abs = target.toAbsolutePath().normalize();
        var agent = session.agent();
        if (agent.isPresent()) {
            return viaAgent(agent.get(), abs);
        }
        Path datastore;
        VirtualMachine vm;
        if (Files.isDirectory(abs)) {
            Path vmx = Discovery.findVmx(abs);
            if (vmx == null) {
                throw new DiscoveryException(abs + ": no .vmx in this folder (give a VM folder or a .vmdk)");
            }
            datastore = abs.getParent();
            vm = Discovery.load(datastore, vmx);
        } else if (Files.isRegularFile(abs)) {
            Path folder = abs.getParent();
            datastore = folder.getParent() != null ? folder.getParent() : folder;
            String name = abs.getFileName().toString().replaceFirst("\\.vmdk$", "");
            vm = new VirtualMachine(folder, abs, name, "", List.of(new VirtualMachine.VmDisk("disk", abs)),
                    List.of(), Map.of());
        } else {
            throw new java.nio.file.NoSuchFileException(abs.toString());
        }
        BackupOptions options = BackupOptions.defaults();
        if (noThrottle) {
            options = options.withoutIdleIo();
        }
        options = options.withReread(full);
        if (blockSize != null) {
            long bytes = Sizes.parse(blockSize, "--block-size");
            try {
                options = options.withBlockBytes((int) Math.min(bytes, Integer.MAX_VALUE));
            } catch (IllegalArgumentException e) {
                throw new IOException("--block-size: " + e.getMessage());
            }
        }
        Counters counters = new Counters();
        AtomicBoolean cancelled = new AtomicBoolean();
        Thread hook = new Thread(() -> cancelled.set(true));
        Runtime.getRuntime().addShutdownHook(hook);
        Path catalogFile = session.catalogFile();
        if (catalogFile.toAbsolutePath().getParent() != null) {
            Files.createDirectories(catalogFile.toAbsolutePath().getParent());
        }
        // the point in time first: a bad --source or a missing snapshot fails before the destination,
        // which opens beside the catalog, is made
        try (CatalogLock lock = CatalogLock.acquire(catalogFile); PointInTime pit = pointInTime(datastore, vm);
                Session s = Session.openWithDestination(session, true)) {
            // holding the lock, nothing else writes: a backup still "running" was cut short by a kill
            int stale = s.catalog().failInterrupted(java.time.Instant.now(),
                    "interrupted: the process ended before the backup completed");
            if (stale > 0 && !json) {
                err().println("coffer: marked " + stale
                        + " interrupted backup(s) as failed; this backup starts afresh (blocks already stored are not sent again)");
            }
            if (pit instanceof LiveSource && !json) {
                err().println("coffer: reading live files; this backup is crash-inconsistent"
                        + " (use --source vm-snapshot, reflink or storage-snapshot for a consistent one)");
            }
            BackupJob job = new BackupJob(s.catalog(), s.destination(), s.destinationName(), options, Clock.systemUTC());
            BackupJob.Report r;
            try (Governed g = Governed.start(datastore, noThrottle, vm.displayName());
                    Progress p = Progress.start("backup", () -> new Progress.Snapshot(
                    counters.bytesRead.get() + counters.bytesCarried.get(), counters.bytesPlanned.get(),
                    String.format(Locale.ROOT, "%,d files", counters.files.get())))) {
                r = job.withThrottle(g.throttle()).run(datastore, vm, pit, policy, counters, cancelled::get);
            }
            print(summary(r, vm, pit));
            return r.complete() ? ExitCodes.OK : ExitCodes.PARTIAL;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is exiting (SIGINT): the job saw the flag
            }
        }
    }

    /**
     * The same backup made by the running agent: the VM folder must be one of the agent's datastores'
     * VMs; {@code POST /v1/backups} queues it (recorded with policy {@code api}, or the agent's policy
     * {@code --policy} names), and the job is followed with the same progress line and summary.
     * Ctrl-C stops following; the agent finishes the backup.
     */
    private int viaAgent(dev.coffer.agent.api.ApiClient api, Path abs) throws IOException, InterruptedException {
        for (String[] o : new String[][] {{"--block-size", blockSize}, {"--no-throttle", noThrottle ? "" : null},
                {"--snapshot-template", snapshotTemplate}}) {
            if (o[1] != null) {
                throw new IOException(o[0] + " is not available through the agent (it reads with its own settings and"
                        + " its datastores' snapshot templates); add --local to back up without it while it is stopped");
            }
        }
        if (snapshot != null && !"storage-snapshot".equals(source)) {
            throw new IOException("--snapshot needs --source storage-snapshot");
        }
        if (source != null && !List.of("auto", "live", "vm-snapshot", "reflink", "storage-snapshot").contains(source)) {
            throw new IOException("--source: expected auto, live, vm-snapshot, reflink or storage-snapshot, found \""
                    + source + "\"");
        }
        com.fasterxml.jackson.databind.JsonNode vms = Agent.get(api, "/v1/vms");
        String datastore = null;
        String folder = null;
        for (com.fasterxml.jackson.databind.JsonNode v : vms.path("vms")) {
            if (v.path("present").asBoolean() && Path.of(v.path("folder").asText()).equals(abs)) {
                datastore = v.path("datastore").asText();
                folder = abs.getFileName().toString();
            }
        }
        if (folder == null) {
            throw new IOException(abs + " is not a VM folder on the agent's datastores (the agent backs up whole VMs"
                    + " of its datastores); add --local to back it up directly while the agent is stopped");
        }
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("vm", folder);
        req.put("datastore", datastore);
        if (!policy.equals("manual")) {
            req.put("policy", policy);
        }
        if (source != null) {
            req.put("source", source);
        }
        if (full) {
            req.put("full", true);
        }
        if (snapshot != null) {
            req.put("snapshot", snapshot);
        }
        com.fasterxml.jackson.databind.JsonNode queued = Agent.post(api, "/v1/backups", req);
        String id = queued.path("jobs").path(0).path("id").asText();
        com.fasterxml.jackson.databind.JsonNode end = Agent.follow(api, id, "backup", j -> {
            var p = j.path("progress");
            return new Progress.Snapshot(p.path("bytesRead").asLong() + p.path("bytesCarried").asLong(),
                    p.path("bytesPlanned").asLong(), String.format(Locale.ROOT, "%,d files", p.path("files").asLong()));
        });
        String state = end.path("state").asText();
        if (!state.equals("complete") && !state.equals("partial")) {
            throw new IOException("backup job " + id + " " + state + ": " + end.path("error").asText("no reason given"));
        }
        var res = end.path("result");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backup", end.path("backup").asLong());
        m.put("vm", end.path("vm").asText());
        m.put("complete", res.path("complete").asBoolean(state.equals("complete")));
        m.put("consistency", res.path("consistency").asText());
        m.put("seconds", res.path("seconds").asDouble());
        m.put("files", res.path("filesCatalogued").asLong());
        m.put("bytesRead", res.path("bytesRead").asLong());
        m.put("bytesCarried", res.path("bytesCarried").asLong());
        m.put("bytesNew", res.path("bytesNew").asLong());
        m.put("bytesSent", res.path("bytesSent").asLong());
        m.put("disks", res.path("disks"));
        if (new LiveSource().consistency().equals(res.path("consistency").asText()) && !json) {
            err().println("coffer: the agent read live files; this backup is crash-inconsistent"
                    + " (use --source vm-snapshot, reflink or storage-snapshot for a consistent one)");
        }
        print(Json.mapper().convertValue(m, new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {}));
        return state.equals("complete") ? ExitCodes.OK : ExitCodes.PARTIAL;
    }

    private PointInTime pointInTime(Path datastore, VirtualMachine vm) throws IOException {
        String template = snapshotTemplate == null ? DEFAULT_TEMPLATE : snapshotTemplate;
        switch (source == null ? "auto" : source) {
            case "live":
                return new LiveSource();
            case "vm-snapshot":
                return new VmSnapshotSource();
            case "reflink":
                return new ReflinkCloneSource(datastore, Long.toString(System.currentTimeMillis()));
            case "storage-snapshot":
                if (snapshot == null) {
                    throw new IOException("--source storage-snapshot needs --snapshot NAME");
                }
                return new StorageSnapshotSource(datastore, template, snapshot);
            case "auto":
                for (VirtualMachine.VmDisk d : vm.disks()) {
                    try (VirtualDisk disk = VirtualDisk.open(d.leaf())) {
                        if (disk.chain().size() < 2) {
                            return new LiveSource();
                        }
                    } catch (IOException e) {
                        return new LiveSource(); // the disk's own error is reported by the backup
                    }
                }
                return vm.disks().isEmpty() ? new LiveSource() : new VmSnapshotSource();
            default:
                throw new IOException("--source: expected auto, live, vm-snapshot, reflink or storage-snapshot, found \""
                        + source + "\"");
        }
    }

    /** What a backup did, as {@code --json} prints it (and the text summary is drawn from). */
    private static Map<String, Object> summary(BackupJob.Report r, VirtualMachine vm, PointInTime pit) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backup", r.backupId());
        m.put("vm", vm.displayName());
        m.put("complete", r.complete());
        m.put("consistency", pit.consistency());
        m.put("seconds", r.elapsed().toMillis() / 1000.0);
        m.put("files", r.info().files());
        m.put("bytesRead", r.bytesRead());
        m.put("bytesCarried", r.bytesCarried());
        m.put("bytesNew", r.bytesNew());
        m.put("bytesSent", r.bytesSent());
        m.put("disks", r.disks().stream().map(d -> {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("slot", d.slot());
            x.put("file", d.leaf().toString());
            x.put("ok", d.ok());
            x.put("error", d.error());
            x.put("warnings", d.warnings());
            return x;
        }).toList());
        return m;
    }

    /**
     * Prints a summary as {@link #summary} makes it (or the agent's, converted to the same plain
     * values): JSON through {@link PlainJson}, or text. Neither starts Jackson's object mapper.
     */
    private void print(Map<String, Object> m) throws IOException {
        var out = out();
        if (json) {
            PlainJson.print(out, m);
            return;
        }
        boolean complete = Boolean.TRUE.equals(m.get("complete"));
        out.printf(Locale.ROOT, "backup %d of \"%s\" %s in %.1f s (%s)%n", number(m, "backup"), m.get("vm"),
                complete ? "complete" : "PARTIAL", m.get("seconds") instanceof Number n ? n.doubleValue() : 0.0, m.get("consistency"));
        for (Object o : list(m.get("disks"))) {
            Map<?, ?> d = (Map<?, ?>) o;
            out.printf("  disk %-8s %s%n", d.get("slot"), Boolean.TRUE.equals(d.get("ok"))
                    ? "ok  " + Path.of(String.valueOf(d.get("file"))).getFileName() : "FAILED  " + d.get("error"));
            for (Object w : list(d.get("warnings"))) {
                out.printf("           warning: %s%n", w);
            }
        }
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("files", String.format(Locale.ROOT, "%,d", number(m, "files")));
        rows.put("read", Table.bytes(number(m, "bytesRead")) + " (unchanged files not read: "
                + Table.bytes(number(m, "bytesCarried")) + ")");
        rows.put("new", Table.bytes(number(m, "bytesNew")) + ", sent " + Table.bytes(number(m, "bytesSent"))
                + " after compression");
        for (Entry<String, String> e : rows.entrySet()) {
            out.printf("  %-8s %s%n", e.getKey(), e.getValue());
        }
        out.flush();
    }

    private static long number(Map<?, ?> m, String key) {
        return m.get(key) instanceof Number n ? n.longValue() : 0;
    }

    /** A list in the summary; an agent's summary may lack one (nothing to print then). */
    private static List<?> list(Object v) {
        return v instanceof List<?> l ? l : List.of();
    }
}
