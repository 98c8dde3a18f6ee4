package dev.coffer.agent.fs;

import dev.coffer.ntfs.ErrorSink;
import dev.coffer.ntfs.FileRecord;
import dev.coffer.ntfs.NtfsException;
import dev.coffer.ntfs.NtfsVolume;
import dev.coffer.ntfs.StreamInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code coffer fs}: the NTFS reader's dump tool. Opens the NTFS volume on a disk (any VMDK, a raw
 * disk image, or a bare volume image) and lists, prints, describes or extracts its files.
 */
@Command(mixinStandardHelpOptions = true, name = "fs", description = "Read the NTFS volume inside a virtual disk: ls, cat, stat, extract.",
        subcommands = {FsLsCommand.class, FsCatCommand.class, FsStatCommand.class, FsExtractCommand.class,
            CommandLine.HelpCommand.class})
public final class FsCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Which disk and which partition to open. */
    static final class DiskOptions {
        Path disk;
        Integer partition;
    }

    /** Mixin form of {@link DiskOptions} for subcommands. */
    public static final class DiskOptionsMixin {
        @CommandLine.Parameters(index = "0", paramLabel = "DISK",
                description = "A VMDK (any subformat or snapshot leaf), a raw disk image, or a bare NTFS volume image.")
        Path disk;

        @CommandLine.Option(names = "--partition", paramLabel = "N",
                description = "Partition number (as Linux numbers them); default: the only NTFS partition.")
        Integer partition;

        DiskOptions options() {
            DiskOptions o = new DiskOptions();
            o.disk = disk;
            o.partition = partition;
            return o;
        }
    }

    /** An open disk and volume; corrupt records are reported on stderr as warnings and counted. */
    static final class Opened implements AutoCloseable {
        final DiskVolumes disk;
        final NtfsVolume volume;
        int warnings;

        Opened(DiskOptions o, PrintWriter err) throws IOException {
            disk = DiskVolumes.open(o.disk, o.partition);
            boolean ok = false;
            try {
                ErrorSink sink = e -> {
                    warnings++;
                    err.println("coffer: warning: " + disk.description() + ": " + e.getMessage());
                    err.flush();
                };
                volume = NtfsVolume.open(disk.volume(), sink);
                ok = true;
            } finally {
                if (!ok) {
                    disk.close();
                }
            }
        }

        @Override
        public void close() throws IOException {
            volume.close();
            disk.close();
        }
    }

    /** A file plus the stream a PATH[:STREAM] argument names (empty name = unnamed $DATA). */
    record Target(FileRecord file, String stream) {}

    /**
     * Resolves PATH[:STREAM]: the whole argument as a path first (POSIX names may hold ':'), then
     * the text after the last ':' of the last component as a stream name.
     */
    static Target resolve(NtfsVolume v, String arg) throws IOException {
        Optional<FileRecord> f = v.lookup(arg);
        if (f.isPresent()) {
            return new Target(f.get(), "");
        }
        int slash = arg.lastIndexOf('/');
        int colon = arg.lastIndexOf(':');
        if (colon > slash) {
            Optional<FileRecord> g = v.lookup(arg.substring(0, colon));
            if (g.isPresent()) {
                return new Target(g.get(), arg.substring(colon + 1));
            }
        }
        throw new NtfsException("no such file on the volume: " + arg);
    }

    /** The named $DATA stream of a target, or a typed error naming what exists. */
    static StreamInfo stream(Target t, String arg) throws NtfsException {
        return t.file().dataStream(t.stream()).orElseThrow(() -> new NtfsException(
                arg + ": " + (t.stream().isEmpty() ? "has no unnamed data stream (a directory?)" : "no stream \"" + t.stream() + "\"")));
    }
}
