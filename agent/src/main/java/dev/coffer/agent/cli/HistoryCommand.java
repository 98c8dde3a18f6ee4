package dev.coffer.agent.cli;

import dev.coffer.agent.ExitCodes;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code coffer history PATH}: every version of one path, with the backups that hold it. */
@Command(name = "history", mixinStandardHelpOptions = true,
        description = "Every version of a path: /PATH, or [VM@]ID|latest:/PATH to pick the VM and volume.")
public final class HistoryCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    SessionOptions session;

    @Parameters(index = "0", paramLabel = "PATH")
    String target;

    @Option(names = "--vm", paramLabel = "NAME", description = "The VM, when the catalog holds several.")
    String vm;

    @Option(names = "--volume", paramLabel = "SLOT/PARTITION", description = "The volume, when there are several.")
    String volume;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Queries q = Queries.open(session)) {
            String spec0 = target.startsWith("/") ? "latest:" + target : target;
            FindCommand.print(spec, q.history(spec0, vm, volume), json);
            return ExitCodes.OK;
        }
    }
}
