package dev.coffer.agent;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The top-level {@code coffer} command and the error handling every subcommand shares. */
@Command(
        name = "coffer",
        mixinStandardHelpOptions = true,
        versionProvider = CofferCommand.Version.class,
        description = "Controller-side backup of VMware virtual machines: reads VMDKs where they lie,"
                + " catalogs every NTFS file, and sends only the blocks the destination lacks.")
public final class CofferCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * The subcommands, in the order help lists them. They are registered with picocli lazily: building
     * a command's model loads and reflects over its class and every option's, which for all fifteen
     * took ~150 ms of every start, longer than the JVM itself. A command line that names one of them
     * registers just that one; anything else (no command, help, a typo) registers them all.
     */
    private static final Map<String, Class<?>> SUBCOMMANDS = subcommands();

    private static Map<String, Class<?>> subcommands() {
        Map<String, Class<?>> m = new LinkedHashMap<>();
        m.put("demo", DemoCommand.class);
        m.put("backup", dev.coffer.agent.cli.BackupCommand.class);
        m.put("backups", dev.coffer.agent.cli.BackupsCommand.class);
        m.put("ls", dev.coffer.agent.cli.LsCommand.class);
        m.put("find", dev.coffer.agent.cli.FindCommand.class);
        m.put("history", dev.coffer.agent.cli.HistoryCommand.class);
        m.put("diff", dev.coffer.agent.cli.DiffCommand.class);
        m.put("verify", dev.coffer.agent.cli.VerifyCommand.class);
        m.put("restore", dev.coffer.agent.flr.RestoreCommand.class);
        m.put("image", dev.coffer.agent.image.ImageCommand.class);
        m.put("fs", dev.coffer.agent.fs.FsCommand.class);
        m.put("cds-train", CdsTrainCommand.class);
        m.put("target", dev.coffer.agent.restore.TargetCommand.class);
        m.put("destination", dev.coffer.agent.destination.DestinationCommand.class);
        m.put("agent", dev.coffer.agent.daemon.AgentCommand.class);
        return m;
    }

    /**
     * A command line for {@code args}, wired with Coffer's exit codes and one-line errors: only the
     * subcommand they name, or all when they name none.
     */
    static CommandLine commandLine(String[] args) {
        CommandLine cli = new CommandLine(new CofferCommand());
        Class<?> named = args.length > 0 ? SUBCOMMANDS.get(args[0]) : null;
        if (named != null) {
            cli.addSubcommand(args[0], named);
        } else {
            for (Map.Entry<String, Class<?>> e : SUBCOMMANDS.entrySet()) {
                cli.addSubcommand(e.getKey(), e.getValue());
            }
        }
        cli.addSubcommand("help", new CommandLine.HelpCommand());
        Handlers handlers = new Handlers();
        cli.setExecutionExceptionHandler(handlers);
        cli.setParameterExceptionHandler(handlers);
        cli.setExitCodeExceptionMapper(handlers);
        return cli;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * Coffer's exit codes and one-line errors, as a class rather than lambdas: picocli is compiled for
     * Java 5, and the class-data archive the launcher records (see {@code coffer}) leaves out such an
     * old class once archiving a lambda has linked it. A lambda for one of these interfaces, or a
     * method reference to {@code CommandLine::addSubcommand}, kept {@code picocli.CommandLine} itself
     * out of the archive, and every start loaded and verified it from the jar (~20 ms).
     */
    static final class Handlers implements CommandLine.IExecutionExceptionHandler,
            CommandLine.IParameterExceptionHandler, CommandLine.IExitCodeExceptionMapper {
        @Override
        public int handleExecutionException(Exception ex, CommandLine cli, CommandLine.ParseResult parsed) {
            return handleFailure(ex, cli.getErr());
        }

        @Override
        public int handleParseException(CommandLine.ParameterException ex, String[] rejected) {
            CommandLine cli = ex.getCommandLine();
            cli.getErr().println("coffer: " + ex.getMessage());
            cli.getErr().println("Try '" + cli.getCommandSpec().qualifiedName() + " --help' for usage.");
            return ExitCodes.USAGE;
        }

        @Override
        public int getExitCode(Throwable ex) {
            return ExitCodes.FAILED;
        }
    }

    /**
     * Runs a command whose line was read without picocli ({@link dev.coffer.agent.flr.RestoreLine}),
     * with the exit codes and one-line errors picocli's handlers give.
     */
    static int execute(Callable<Integer> command, PrintWriter err) {
        try {
            Integer code = command.call();
            return code == null ? ExitCodes.OK : code;
        } catch (Exception e) {
            return handleFailure(e, err);
        }
    }

    /** Prints one line that says what failed and where; a stack trace only with COFFER_DEBUG=1. */
    private static int handleFailure(Exception ex, PrintWriter err) {
        Throwable cause = ex instanceof UncheckedIOException u ? u.getCause() : ex;
        err.println("coffer: " + describe(cause));
        if ("1".equals(System.getenv("COFFER_DEBUG"))) {
            ex.printStackTrace(err);
        }
        return cause instanceof InterruptedException ? ExitCodes.CANCELLED : ExitCodes.FAILED;
    }

    /** A one-line description of a failure, naming the file for the JDK's terse file errors. */
    static String describe(Throwable t) {
        if (t instanceof NoSuchFileException e) {
            return "no such file: " + e.getFile();
        }
        if (t instanceof FileSystemException e) {
            return e.getFile() + ": " + (e.getReason() != null ? e.getReason() : e.getClass().getSimpleName());
        }
        String msg = t.getMessage();
        if (msg == null || msg.isBlank()) {
            msg = t.getClass().getSimpleName();
        } else if (!(t instanceof IOException)) {
            msg = t.getClass().getSimpleName() + ": " + msg;
        }
        return msg.replace('\n', ' ');
    }

    /** Prints the version recorded in the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = CofferCommand.class.getPackage().getImplementationVersion();
            return new String[] {"coffer " + (v != null ? v : "development build")};
        }
    }
}
