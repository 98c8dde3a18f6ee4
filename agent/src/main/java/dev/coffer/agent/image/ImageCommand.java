package dev.coffer.agent.image;

import dev.coffer.vmdk.VirtualDisk;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code coffer image}: the virtual-disk reader's dump tool. Opens any VMDK (every subformat and
 * snapshot chain) or, with {@code --raw}, a plain raw image, and shows what Coffer sees.
 */
@Command(mixinStandardHelpOptions = true, name = "image", description = "Inspect virtual disks: info, cat, map, partitions.",
        subcommands = {ImageInfoCommand.class, ImageCatCommand.class, ImageMapCommand.class,
            ImagePartitionsCommand.class, CommandLine.HelpCommand.class})
public final class ImageCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The options every image subcommand shares: the disk and how to open it. */
    static final class DiskOptions {
        @CommandLine.Parameters(index = "0", paramLabel = "DISK",
                description = "A VMDK (descriptor, sparse, streamOptimized, COWD, seSparse; a snapshot leaf"
                        + " opens its whole chain), or a raw image with --raw.")
        Path disk;

        @CommandLine.Option(names = "--raw", description = "Treat DISK as a plain raw image.")
        boolean raw;

        VirtualDisk open() throws IOException {
            return raw ? VirtualDisk.openRaw(disk) : VirtualDisk.open(disk);
        }
    }

    /** A byte count with a binary-unit rendering, for text output. */
    static String human(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format("%,d bytes (%.1f %s)", bytes, v, units[u]);
    }
}
