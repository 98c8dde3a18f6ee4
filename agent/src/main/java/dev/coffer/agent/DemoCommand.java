package dev.coffer.agent;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code coffer demo}: the guided tour against the sample datastore in {@code docs/examples/}.
 *
 * <p>Until the backup engine lands it shows the sample VM and what Coffer can already do with it.
 */
@Command(name = "demo", description = "Run the guided tour against the sample datastore in docs/examples/.")
final class DemoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--datastore", description = "Sample datastore (default: docs/examples/datastore).")
    Path datastore;

    @Override
    public Integer call() throws Exception {
        Path ds = datastore != null ? datastore : Path.of("docs", "examples", "datastore");
        var out = spec.commandLine().getOut();
        if (!Files.isDirectory(ds)) {
            throw new java.nio.file.NoSuchFileException(ds.toString(), null, "sample datastore not found");
        }
        out.println("Sample datastore: " + ds.toAbsolutePath());
        try (var vms = Files.list(ds)) {
            for (Path vm : vms.sorted().toList()) {
                out.println("  VM folder " + vm.getFileName());
                try (var files = Files.list(vm)) {
                    for (Path f : files.sorted().toList()) {
                        out.printf("    %-24s %,12d bytes%n", f.getFileName(), Files.size(f));
                    }
                }
            }
        }
        out.println();
        out.println("The backup engine is not wired in yet; see README.md for what works today.");
        return ExitCodes.OK;
    }
}
