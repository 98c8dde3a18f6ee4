package dev.coffer.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The top-level {@code coffer} command and the error handling every subcommand shares. */
@Command(
        name = "coffer",
        mixinStandardHelpOptions = true,
        versionProvider = CofferCommand.Version.class,
        description = "Controller-side backup of VMware virtual machines: reads VMDKs where they lie,"
                + " catalogs every NTFS file, and sends only the blocks the destination lacks.",
        subcommands = {DemoCommand.class, dev.coffer.agent.cli.BackupCommand.class,
                dev.coffer.agent.cli.BackupsCommand.class, dev.coffer.agent.cli.LsCommand.class,
                dev.coffer.agent.cli.FindCommand.class, dev.coffer.agent.cli.HistoryCommand.class,
                dev.coffer.agent.cli.DiffCommand.class, dev.coffer.agent.cli.VerifyCommand.class,
                dev.coffer.agent.flr.RestoreCommand.class,
                dev.coffer.agent.image.ImageCommand.class, dev.coffer.agent.fs.FsCommand.class, CdsTrainCommand.class, dev.coffer.agent.restore.TargetCommand.class, dev.coffer.agent.destination.DestinationCommand.class,
                dev.coffer.agent.daemon.AgentCommand.class,
                CommandLine.HelpCommand.class})
public final class CofferCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** A command line wired with Coffer's exit codes and one-line error reporting. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new CofferCommand());
        cli.setExecutionExceptionHandler(CofferCommand::handleFailure);
        cli.setParameterExceptionHandler((ex, args) -> {
            ex.getCommandLine().getErr().println("coffer: " + ex.getMessage());
            ex.getCommandLine().getErr().println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName()
                    + " --help' for usage.");
            return ExitCodes.USAGE;
        });
        cli.setExitCodeExceptionMapper(ex -> ExitCodes.FAILED);
        return cli;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Prints one line that says what failed and where; a stack trace only with COFFER_DEBUG=1. */
    private static int handleFailure(Exception ex, CommandLine cli, CommandLine.ParseResult parsed) {
        Throwable cause = ex instanceof UncheckedIOException u ? u.getCause() : ex;
        cli.getErr().println("coffer: " + describe(cause));
        if ("1".equals(System.getenv("COFFER_DEBUG"))) {
            ex.printStackTrace(cli.getErr());
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
