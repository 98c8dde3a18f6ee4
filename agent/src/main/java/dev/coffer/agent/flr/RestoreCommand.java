package dev.coffer.agent.flr;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.agent.ExitCodes;
import dev.coffer.agent.api.ApiClient;
import dev.coffer.agent.api.JsonTrees;
import dev.coffer.agent.cli.Agent;
import dev.coffer.agent.cli.BackupRef;
import dev.coffer.agent.cli.Json;
import dev.coffer.agent.cli.Progress;
import dev.coffer.agent.cli.Session;
import dev.coffer.agent.cli.SessionOptions;
import dev.coffer.agent.cli.Table;
import dev.coffer.agent.rebuild.SparseVmdkExport;
import dev.coffer.agent.rebuild.DiskExport;
import dev.coffer.agent.rebuild.DiskLayout;
import dev.coffer.agent.rebuild.DiskRebuilder;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import dev.coffer.agent.restore.DirectoryTarget;
import dev.coffer.agent.restore.ExistingPolicy;
import dev.coffer.agent.restore.HttpTargetClient;
import dev.coffer.agent.restore.NameMapping;
import dev.coffer.agent.restore.RestoreTarget;
import dev.coffer.catalog.DiskInfo;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code coffer restore}: files, streams, trees or globs from a backup into a directory or a
 * restore-target server; or, with {@code --disk}, a whole disk as a raw image or a streamOptimized
 * VMDK. When an agent is running (see {@link SessionOptions#agent()}) the agent does the restore and
 * this follows its job; the output is the same.
 */
@Command(name = "restore", mixinStandardHelpOptions = true,
        description = {"Restore files from a backup: [VM@]ID|latest:/PATH[:STREAM] --to DIR|http://HOST:PORT.",
                "With --disk SLOT, rebuild that whole disk as an image (--format): --disk scsi0:0 latest --to FILE|-.",
                "When an agent runs (--config's query.socket, or --socket), the agent restores and this follows it."})
public final class RestoreCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SessionOptions session;

    @Parameters(index = "0", paramLabel = "BACKUP[:PATH]")
    String what;

    @Option(names = "--to", required = true, paramLabel = "DIR|URL|FILE", description = "Where to restore.")
    String to;

    @Option(names = "--vm", paramLabel = "NAME", description = "The VM, when the catalog holds several.")
    String vm;

    @Option(names = "--volume", paramLabel = "SLOT/PARTITION", description = "The volume, when the backup has several.")
    String volume;

    @Option(names = "--disk", paramLabel = "SLOT", description = "Rebuild this whole disk instead of files: its slot (scsi0:0) or index.")
    String disk;

    @Option(names = "--format", paramLabel = "raw|vmdk|vmdk-sparse", defaultValue = "raw",
            description = "With --disk: a raw image, a streamOptimized VMDK (vmdk, also spelt vmdk-stream) or a"
                    + " monolithicSparse VMDK (vmdk-sparse). Default ${DEFAULT-VALUE}.")
    String format;

    @Option(names = "--vm-files", description = "Restore the VM's own files kept with the backup (.vmx, .vmsd, .nvram).")
    boolean vmFiles;

    @Option(names = "--glob", paramLabel = "PATTERN", description = "Only files whose name matches, e.g. '*.pdf'.")
    String glob;

    @Option(names = "--streams", description = "Restore alternate data streams too.")
    boolean streams;

    @Option(names = "--existing", paramLabel = "POLICY", defaultValue = "rename",
            description = "When a file exists at the target: skip, overwrite or rename (default ${DEFAULT-VALUE}).")
    String existing;

    @Option(names = "--workers", paramLabel = "N", description = "Download and upload workers each.")
    Integer workers;

    @Option(names = "--target-token-file", paramLabel = "FILE", description = "Token of the restore-target server.")
    Path targetToken;

    @Option(names = "--json", description = "Print the summary as JSON.")
    boolean json;

    @Option(names = "--direct-io", description = "Write files of 1 MiB or more past the page cache (O_DIRECT; local directories only).")
    boolean directIo;

    /** Where output goes when {@link RestoreLine} read the command line (and picocli set no {@link #spec}). */
    PrintWriter out;

    private PrintWriter out() {
        return spec != null ? spec.commandLine().getOut() : out;
    }

    @Override
    public Integer call() throws Exception {
        String noDirectIo = directIoRefusedFor(remoteTo(), disk != null, vmFiles);
        if (directIo && noDirectIo != null) {
            throw new IOException("--direct-io is for files restored into a directory, not " + noDirectIo);
        }
        Optional<ApiClient> agent = session.agent();
        if (agent.isPresent()) {
            return viaAgent(agent.get());
        }
        try (Session s = Session.openForReading(session, disk == null && !vmFiles)) {
            if (disk != null) {
                return restoreDisk(s);
            }
            if (vmFiles) {
                var b = BackupRef.named(s.catalog(), what, vm);
                Path dir = Files.createDirectories(Path.of(to));
                List<String> names = new ArrayList<>();
                for (DiskInfo d : s.catalog().disks(b.vmId())) {
                    names.addAll(new DiskRebuilder(s.catalog(), s.destination()).writeVmFiles(b.id(), d.id(), dir));
                }
                printVmFiles(Json.mapper().valueToTree(vmFilesSummary(b.id(), dir, names)));
                return ExitCodes.OK;
            }
            BackupRef ref = BackupRef.resolve(s.catalog(), what, vm, volume);
            ExistingPolicy policy = existingPolicy();
            int colon = what.indexOf(":/");
            String pathAndStream = colon < 0 ? "/" : what.substring(colon + 1);
            List<FileRestore.Item> items = new Selection(s.catalog(), ref.backup().id(), ref.volume().id(), policy)
                    .select(pathAndStream, streams, glob);
            FileRestore.Options options = FileRestore.Options.defaults();
            if (workers != null) {
                options = options.withWorkers(workers);
            }
            long total = items.stream().mapToLong(i -> i.file().size()).sum();
            FileRestore.Report report;
            try (RestoreTarget target = target()) {
                FileRestore restore = new FileRestore(s.destination(), target, options);
                try (Progress p = Progress.start("restore", () -> new Progress.Snapshot(restore.bytesDone.get(), total,
                        items.size() + " files"))) {
                    report = restore.run(items);
                }
            }
            printFiles(summary(report), total);
            return report.failed() == 0 ? ExitCodes.OK : report.failed() == report.outcomes().size()
                    ? ExitCodes.FAILED : ExitCodes.PARTIAL;
        }
    }

    private ExistingPolicy existingPolicy() throws IOException {
        return switch (existing.toLowerCase(Locale.ROOT)) {
            case "skip" -> ExistingPolicy.SKIP;
            case "overwrite" -> ExistingPolicy.OVERWRITE;
            case "rename" -> ExistingPolicy.RENAME;
            default -> throw new IOException("--existing: expected skip, overwrite or rename, found \"" + existing + "\"");
        };
    }

    private boolean remoteTo() {
        return to.startsWith("http://") || to.startsWith("https://");
    }

    private RestoreTarget target() throws IOException {
        if (remoteTo()) {
            String token = targetToken();
            return new HttpTargetClient(URI.create(to), token, HttpTargetClient.Options.defaults());
        }
        Path dir = Path.of(to);
        Files.createDirectories(dir);
        return DirectoryTarget.open(dir, DirectoryTarget.Options.defaults().withDurability(DirectoryTarget.Durability.AT_CLOSE)
                .withDirectWrites(directIo));
    }

    /**
     * What direct writes cannot be asked for, or null when they can: they are for files restored into a
     * directory, not a restore-target URL, a disk image or the VM's files. The CLI and the agent API both ask.
     */
    public static String directIoRefusedFor(boolean remoteTarget, boolean disk, boolean vmFiles) {
        return remoteTarget ? "a restore-target URL" : disk ? "a disk image" : vmFiles ? "the VM's files" : null;
    }

    private String targetToken() throws IOException {
        if (targetToken == null) {
            throw new IOException("--to " + to + " needs --target-token-file (the restore target authenticates)");
        }
        return Files.readString(targetToken, StandardCharsets.UTF_8).strip();
    }

    private String diskFormat() throws IOException {
        return switch (format) {
            case "raw" -> "raw";
            case "vmdk", "vmdk-stream" -> "vmdk-stream";
            case "vmdk-sparse" -> "vmdk-sparse";
            default -> throw new IOException("--format: expected raw, vmdk or vmdk-sparse, found \"" + format + "\"");
        };
    }

    /**
     * The same restore done by the running agent: {@code POST /v1/restores}, then the job is followed
     * with the same progress line and its result printed like a local restore's. A disk to stdout
     * ({@code --to -}) is streamed from {@code GET /v1/backups/{id}/disks/{slot}/image} instead.
     * The agent writes the files itself (as its own user), so {@code --to} is made absolute here.
     */
    private int viaAgent(ApiClient api) throws IOException, InterruptedException {
        if (disk != null && to.equals("-")) {
            String fmt = diskFormat();
            String target = "/v1/backups/" + URLEncoder.encode(what, StandardCharsets.UTF_8) + "/disks/"
                    + URLEncoder.encode(disk, StandardCharsets.UTF_8) + "/image" + Agent.query("format", fmt, "vm", vm);
            api.download(target, new FileOutputStream(FileDescriptor.out));
            return ExitCodes.OK;
        }
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("backup", what);
        req.put("vm", vm);
        if (disk != null) {
            req.put("disk", disk);
            req.put("format", diskFormat());
        } else if (vmFiles) {
            req.put("vmFiles", true);
        } else {
            existingPolicy();
            req.put("volume", volume);
            req.put("streams", streams);
            req.put("glob", glob);
            req.put("existing", existing.toLowerCase(Locale.ROOT));
            req.put("workers", workers);
            req.put("directIo", directIo ? Boolean.TRUE : null);
        }
        req.put("to", remoteTo() ? to : Path.of(to).toAbsolutePath().normalize().toString());
        if (remoteTo()) {
            req.put("targetToken", targetToken());
        }
        req.values().removeIf(java.util.Objects::isNull);
        JsonNode job = Agent.post(api, "/v1/restores", req);
        JsonNode end = Agent.follow(api, job.get("id").asText(), "restore", j -> new Progress.Snapshot(
                j.path("progress").path("bytesDone").asLong(), j.path("progress").path("bytesTotal").asLong(), ""));
        JsonNode result = end.path("result");
        String state = end.path("state").asText();
        if (!result.has("results") && !result.has("bytesWritten") && !result.has("files")) {
            throw new IOException(end.hasNonNull("error") ? end.get("error").asText() : "restore " + state);
        }
        if (disk != null) {
            printDisk(result);
            return ExitCodes.OK;
        }
        if (vmFiles) {
            printVmFiles(result);
            return ExitCodes.OK;
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> summary = result.isObject() ? (Map<String, Object>) JsonTrees.plain(result) : Map.of();
        printFiles(summary, result.path("bytesTotal").asLong());
        return switch (state) {
            case "complete" -> ExitCodes.OK;
            case "partial" -> ExitCodes.PARTIAL;
            default -> ExitCodes.FAILED;
        };
    }

    private int restoreDisk(Session s) throws IOException {
        var b = BackupRef.named(s.catalog(), what, vm);
        DiskInfo d = BackupRef.disk(s.catalog(), b, disk);
        long n;
        boolean toStdout = to.equals("-");
        String fmt = diskFormat();
        if (fmt.equals("raw") && !toStdout) {
            n = new DiskRebuilder(s.catalog(), s.destination()).rebuild(b.id(), d.id(), d.capacityBytes(), Path.of(to));
        } else {
            // front to back, as it is produced: to a pipe, or a VMDK that needs no seeking
            DiskLayout layout = DiskLayout.of(s.catalog(), b.id(), d.id(), d.capacityBytes());
            DiskExport export = new DiskExport(s.destination(), layout);
            SparseVmdkExport sparse = new SparseVmdkExport(s.destination(), layout);
            String name = toStdout ? d.slot().replace(':', '-') + ".vmdk" : Path.of(to).getFileName().toString();
            try (OutputStream out = toStdout ? new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 20)
                    : new BufferedOutputStream(Files.newOutputStream(Path.of(to)), 1 << 20)) {
                switch (fmt) {
                    case "raw" -> export.writeRaw(out);
                    case "vmdk-sparse" -> sparse.write(out, name);
                    default -> export.writeStreamOptimized(out, name);
                }
            }
            n = fmt.equals("vmdk-sparse") ? sparse.written() : export.written();
            if (toStdout) {
                return ExitCodes.OK;
            }
        }
        printDisk(Json.mapper().valueToTree(diskSummary(b.id(), d.slot(), Path.of(to), d.capacityBytes(), n)));
        return ExitCodes.OK;
    }

    /** The keys a file restore's summary prints with {@code --json}, in order. */
    private static final List<String> FILE_KEYS = List.of("files", "failed", "bytesWritten", "bytesAlreadyThere",
            "seconds", "renamed", "results");
    private static final List<String> DISK_KEYS = List.of("backup", "disk", "file", "capacityBytes", "bytesWritten");
    private static final List<String> VM_FILE_KEYS = List.of("backup", "to", "files");

    /**
     * What a file restore did, as {@code coffer restore --json} prints it and the agent's restore job
     * keeps as its result: {@code files}, {@code failed}, {@code bytesWritten}, {@code bytesAlreadyThere},
     * {@code seconds}, {@code renamed} (NTFS names changed to be safe here) and {@code results} (one
     * per file, by name: {@code file}, {@code ok}, {@code to}, {@code outcome}, {@code error}).
     */
    public static Map<String, Object> summary(FileRestore.Report r) {
        List<Map<String, Object>> files = new ArrayList<>();
        List<String> renamed = new ArrayList<>();
        // in name order: the pipeline finishes files in whatever order its workers do
        List<FileRestore.Outcome> outcomes = new ArrayList<>(r.outcomes());
        if (outcomes.size() > 1) { // Comparator.comparing's lambdas are serializable: no class-data archive holds them
            outcomes.sort((a, b) -> a.file().displayName().compareTo(b.file().displayName()));
        }
        for (FileRestore.Outcome o : outcomes) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("file", o.file().displayName());
            m.put("ok", o.ok());
            m.put("to", o.result() == null ? null : o.result().path());
            m.put("outcome", o.result() == null ? "failed" : o.result().outcome().name().toLowerCase(Locale.ROOT));
            m.put("error", o.error());
            files.add(m);
            if (o.result() != null) {
                for (NameMapping nm : o.result().mappings()) {
                    renamed.add(nm.toString());
                }
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("files", r.outcomes().size());
        m.put("failed", r.failed());
        m.put("bytesWritten", r.bytesWritten());
        m.put("bytesAlreadyThere", r.bytesSkipped());
        m.put("seconds", r.elapsed().toMillis() / 1000.0);
        m.put("renamed", renamed);
        m.put("results", files);
        return m;
    }

    /** What a disk restore did: {@code backup}, {@code disk} (slot), {@code file}, {@code capacityBytes}, {@code bytesWritten}. */
    public static Map<String, Object> diskSummary(long backupId, String slot, Path file, long capacityBytes, long written) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backup", backupId);
        m.put("disk", slot);
        m.put("file", file.toString());
        m.put("capacityBytes", capacityBytes);
        m.put("bytesWritten", written);
        return m;
    }

    /** What a restore of the VM's own files did: {@code backup}, {@code to}, {@code files} (names). */
    public static Map<String, Object> vmFilesSummary(long backupId, Path dir, List<String> names) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backup", backupId);
        m.put("to", dir.toString());
        m.put("files", names);
        return m;
    }

    private void printJson(JsonNode summary, List<String> keys) throws IOException {
        ObjectNode o = Json.mapper().createObjectNode();
        for (String k : keys) {
            o.set(k, summary.get(k));
        }
        for (String k : List.of("resultsOmitted", "renamedOmitted")) {
            if (summary.has(k)) {
                o.set(k, summary.get(k)); // the agent keeps 10,000 per-file results of a restore
            }
        }
        Json.print(out(), o);
    }

    private void printVmFiles(JsonNode m) throws IOException {
        if (json) {
            printJson(m, VM_FILE_KEYS);
            return;
        }
        List<String> names = new ArrayList<>();
        m.path("files").forEach(n -> names.add(n.asText()));
        out().println("restored " + String.join(", ", names) + " of backup " + m.path("backup").asLong()
                + " into " + m.path("to").asText());
        out().flush();
    }

    private void printDisk(JsonNode m) throws IOException {
        if (json) {
            printJson(m, DISK_KEYS);
            return;
        }
        out().printf("rebuilt disk %s of backup %d into %s (%s, %s of data)%n", m.path("disk").asText(),
                m.path("backup").asLong(), m.path("file").asText(), Table.bytes(m.path("capacityBytes").asLong()),
                Table.bytes(m.path("bytesWritten").asLong()));
        out().flush();
    }

    /**
     * Prints a file restore's summary ({@link #summary}, or the agent's copy of it). The text form reads
     * the map itself: building it through Jackson loaded ~500 classes, a tenth of a one-file restore.
     */
    private void printFiles(Map<String, Object> m, long total) throws IOException {
        var out = out();
        if (json) {
            printJson(Json.mapper().valueToTree(m), FILE_KEYS);
            return;
        }
        long files = number(m.get("files"));
        long failed = number(m.get("failed"));
        double secs = Math.max(1e-3, m.get("seconds") instanceof Number n ? n.doubleValue() : 0);
        out.println("restored " + (files - failed) + " of " + files + " files (" + Table.bytes(total) + ") in "
                + Table.fixed(secs, 2) + " s, " + Table.bytes((long) (number(m.get("bytesWritten")) / secs)) + "/s");
        for (Object o : list(m.get("results"))) {
            if (o instanceof Map<?, ?> r && !Boolean.TRUE.equals(r.get("ok"))) {
                out.println("  FAILED " + r.get("error"));
            }
        }
        for (Object n : list(m.get("renamed"))) {
            out.println("  renamed " + n);
        }
        if (m.containsKey("resultsOmitted") || m.containsKey("renamedOmitted")) {
            out.printf("  (the agent kept the results of %d files: failed and renamed ones first)%n", list(m.get("results")).size());
        }
        out.flush();
    }

    private static long number(Object o) {
        return o instanceof Number n ? n.longValue() : 0;
    }

    private static List<?> list(Object o) {
        return o instanceof List<?> l ? l : List.of();
    }
}
