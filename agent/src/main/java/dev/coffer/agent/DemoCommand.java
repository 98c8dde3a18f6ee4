package dev.coffer.agent;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code coffer demo}: the guided tour. Against a copy of the sample datastore in
 * {@code docs/examples/}, it runs the same commands an operator would: a backup to an embedded
 * destination, a look at the catalog, a change inside the guest (a snapshot delta made with ntfs-3g
 * and qemu-io), an incremental backup that sends little, a diff, and a file restore it checks.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Guided tour on the sample datastore in docs/examples/ (needs nothing but Java).")
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--examples", paramLabel = "DIR", description = "The examples folder (default: docs/examples).")
    Path examples;

    @Option(names = "--keep", description = "Keep the demo's working folder (its path is printed).")
    boolean keep;

    private PrintWriter out;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        Path ex = examples != null ? examples
                : Path.of(System.getProperty("coffer.home", "."), "docs", "examples");
        if (!Files.isDirectory(ex.resolve("datastore"))) {
            throw new java.nio.file.NoSuchFileException(ex.resolve("datastore").toString(), null,
                    "sample datastore not found (run from the repository, or pass --examples)");
        }
        Path work = Files.createTempDirectory("coffer-demo");
        try {
            return tour(ex, work);
        } finally {
            if (keep) {
                out.println("\nThe demo's files are in " + work);
            } else {
                delete(work);
            }
            out.flush();
        }
    }

    private int tour(Path ex, Path work) throws Exception {
        Path ds = work.resolve("datastore");
        copyTree(ex.resolve("datastore"), ds);
        Path vm = ds.resolve("demo-vm");
        String catalog = work.resolve("catalog.db").toString();
        String store = work.resolve("store").toString();
        List<String> common = List.of("--catalog", catalog, "--destination", store);

        step("1. Back up the VM: read its VMDK in place, catalog every NTFS file, store each block once.");
        run(common, "backup", "--source", "live", vm.toString());

        step("2. The catalog answers without touching the backup data.");
        run(common, "ls", "latest:/Documents");
        run(common, "find", "*.dll", "--limit", "3");

        step("3. Inside the guest, a report grows and a note is written (a snapshot delta the VM wrote).");
        Files.copy(ex.resolve("changes").resolve("demo-vm-000001.vmdk"), vm.resolve("demo-vm-000001.vmdk"));
        Path vmx = vm.resolve("demo-vm.vmx");
        Files.writeString(vmx, Files.readString(vmx).replace("\"demo-vm.vmdk\"", "\"demo-vm-000001.vmdk\""));
        out.println("   demo-vm.vmx now names demo-vm-000001.vmdk, a delta over demo-vm.vmdk");

        step("4. Back up again: unchanged files are carried forward, only new blocks are sent.");
        run(common, "backup", "--source", "live", vm.toString());
        run(common, "backups");
        run(common, "diff", "1", "2");

        step("5. Restore the changed report from the latest backup, and check it.");
        Path restored = work.resolve("restored");
        run(common, "restore", "latest:/Documents/Reports/q1.csv", "--to", restored.toString());
        String expected = Files.readString(ex.resolve("changes").resolve("q1.csv.md5")).strip();
        String actual = md5(restored.resolve("q1.csv"));
        boolean ok = expected.equals(actual);
        out.printf("   q1.csv MD5 %s, as written in the guest: %s%n", actual, ok ? "identical" : "DIFFERENT (expected "
                + expected + ")");
        step(ok ? "Done. Try the same commands on your own datastore: see README.md."
                : "The restored file differs: please report this.");
        return ok ? ExitCodes.OK : ExitCodes.FAILED;
    }

    private void step(String text) {
        out.println();
        out.println("== " + text);
        out.flush();
    }

    private void run(List<String> common, String command, String... args) throws IOException {
        List<String> argv = new ArrayList<>();
        argv.add(command);
        argv.addAll(common);
        argv.addAll(List.of(args));
        out.println("$ coffer " + command + " " + String.join(" ", args));
        out.flush();
        int rc = Main.run(argv.toArray(String[]::new), out, spec.commandLine().getErr());
        if (rc != ExitCodes.OK) {
            throw new IOException("demo step failed: coffer " + String.join(" ", argv) + " exited " + rc);
        }
    }

    private static String md5(Path p) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(Files.readAllBytes(p)));
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
