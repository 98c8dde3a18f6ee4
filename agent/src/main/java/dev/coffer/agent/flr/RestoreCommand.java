package dev.coffer.agent.flr;

import dev.coffer.agent.ExitCodes;
import dev.coffer.agent.cli.BackupRef;
import dev.coffer.agent.cli.Json;
import dev.coffer.agent.cli.Progress;
import dev.coffer.agent.cli.Session;
import dev.coffer.agent.cli.SessionOptions;
import dev.coffer.agent.cli.Table;
import dev.coffer.agent.rebuild.DiskExport;
import dev.coffer.agent.rebuild.DiskLayout;
import dev.coffer.agent.rebuild.DiskRebuilder;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import dev.coffer.agent.restore.DirectoryTarget;
import dev.coffer.agent.restore.ExistingPolicy;
import dev.coffer.agent.restore.HttpTargetClient;
import dev.coffer.agent.restore.NameMapping;
import dev.coffer.agent.restore.RestoreTarget;
import dev.coffer.catalog.DiskInfo;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code coffer restore}: files, streams, trees or globs from a backup into a directory or a
 * restore-target server; or, with {@code --disk}, a whole disk as a raw image.
 */
@Command(name = "restore", mixinStandardHelpOptions = true,
        description = {"Restore files from a backup: [VM@]ID|latest:/PATH[:STREAM] --to DIR|http://HOST:PORT.",
                "With --disk SLOT, rebuild that whole disk as a raw image: --disk scsi0:0 latest --to FILE."})
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

    @Option(names = "--disk", paramLabel = "SLOT", description = "Rebuild this whole disk (raw) instead of files.")
    String disk;

    @Option(names = "--format", paramLabel = "raw|vmdk", defaultValue = "raw",
            description = "With --disk: a raw image, or a streamOptimized VMDK (default ${DEFAULT-VALUE}).")
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

    @Override
    public Integer call() throws Exception {
        try (Session s = Session.open(session, false)) {
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
                if (json) {
                    Json.print(spec.commandLine().getOut(), Map.of("backup", b.id(), "to", dir.toString(), "files", names));
                } else {
                    spec.commandLine().getOut().println("restored " + String.join(", ", names) + " of backup " + b.id()
                            + " into " + dir);
                    spec.commandLine().getOut().flush();
                }
                return ExitCodes.OK;
            }
            BackupRef ref = BackupRef.resolve(s.catalog(), what, vm, volume);
            ExistingPolicy policy = switch (existing.toLowerCase(Locale.ROOT)) {
                case "skip" -> ExistingPolicy.SKIP;
                case "overwrite" -> ExistingPolicy.OVERWRITE;
                case "rename" -> ExistingPolicy.RENAME;
                default -> throw new IOException("--existing: expected skip, overwrite or rename, found \"" + existing + "\"");
            };
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
            print(report, total);
            return report.failed() == 0 ? ExitCodes.OK : report.failed() == report.outcomes().size()
                    ? ExitCodes.FAILED : ExitCodes.PARTIAL;
        }
    }

    private RestoreTarget target() throws IOException {
        if (to.startsWith("http://") || to.startsWith("https://")) {
            if (targetToken == null) {
                throw new IOException("--to " + to + " needs --target-token-file (the restore target authenticates)");
            }
            String token = Files.readString(targetToken, StandardCharsets.UTF_8).strip();
            return new HttpTargetClient(URI.create(to), token, HttpTargetClient.Options.defaults());
        }
        Path dir = Path.of(to);
        Files.createDirectories(dir);
        return DirectoryTarget.open(dir, DirectoryTarget.Options.defaults().withDurability(DirectoryTarget.Durability.AT_CLOSE));
    }

    private int restoreDisk(Session s) throws IOException {
        var b = BackupRef.named(s.catalog(), what, vm);
        DiskInfo d = s.catalog().disks(b.vmId()).stream().filter(x -> x.slot().equals(disk)).findFirst()
                .orElseThrow(() -> new IOException("backup " + b.id() + " has no disk " + disk));
        long n;
        boolean toStdout = to.equals("-");
        if (!format.equals("raw") && !format.equals("vmdk")) {
            throw new IOException("--format: expected raw or vmdk, found \"" + format + "\"");
        }
        if (format.equals("raw") && !toStdout) {
            n = new DiskRebuilder(s.catalog(), s.destination()).rebuild(b.id(), d.id(), d.capacityBytes(), Path.of(to));
        } else {
            // front to back, as it is produced: to a pipe, or a VMDK that needs no seeking
            DiskExport export = new DiskExport(s.destination(),
                    DiskLayout.of(s.catalog(), b.id(), d.id(), d.capacityBytes()));
            try (OutputStream out = toStdout ? new FileOutputStream(FileDescriptor.out)
                    : new BufferedOutputStream(Files.newOutputStream(Path.of(to)), 1 << 20)) {
                if (format.equals("raw")) {
                    export.writeRaw(out);
                } else {
                    String name = toStdout ? d.slot().replace(':', '-') + ".vmdk" : Path.of(to).getFileName().toString();
                    export.writeStreamOptimized(out, name);
                }
            }
            n = export.written();
            if (toStdout) {
                return ExitCodes.OK;
            }
        }
        Path out = Path.of(to);
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("backup", b.id());
            m.put("disk", d.slot());
            m.put("file", out.toString());
            m.put("capacityBytes", d.capacityBytes());
            m.put("bytesWritten", n);
            Json.print(spec.commandLine().getOut(), m);
        } else {
            spec.commandLine().getOut().printf("rebuilt disk %s of backup %d into %s (%s, %s of data)%n", d.slot(), b.id(),
                    out, Table.bytes(d.capacityBytes()), Table.bytes(n));
            spec.commandLine().getOut().flush();
        }
        return ExitCodes.OK;
    }

    private void print(FileRestore.Report r, long total) throws IOException {
        var out = spec.commandLine().getOut();
        List<Map<String, Object>> files = new ArrayList<>();
        List<String> renamed = new ArrayList<>();
        for (FileRestore.Outcome o : r.outcomes()) {
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
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("files", r.outcomes().size());
            m.put("failed", r.failed());
            m.put("bytesWritten", r.bytesWritten());
            m.put("bytesAlreadyThere", r.bytesSkipped());
            m.put("seconds", r.elapsed().toMillis() / 1000.0);
            m.put("renamed", renamed);
            m.put("results", files);
            Json.print(out, m);
            return;
        }
        double secs = Math.max(1e-3, r.elapsed().toNanos() / 1e9);
        out.printf(Locale.ROOT, "restored %d of %d files (%s) in %.2f s, %s/s%n", r.outcomes().size() - r.failed(),
                r.outcomes().size(), Table.bytes(total), secs, Table.bytes((long) (r.bytesWritten() / secs)));
        for (FileRestore.Outcome o : r.outcomes()) {
            if (!o.ok()) {
                out.println("  FAILED " + o.error());
            }
        }
        for (String n : renamed) {
            out.println("  renamed " + n);
        }
        out.flush();
    }
}
