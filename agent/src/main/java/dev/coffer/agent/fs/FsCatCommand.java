package dev.coffer.agent.fs;

import dev.coffer.agent.ExitCodes;
import dev.coffer.ntfs.StreamReader;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code coffer fs cat DISK PATH[:STREAM]}: writes a file's (or an alternate stream's) bytes to stdout. */
@Command(mixinStandardHelpOptions = true, name = "cat", description = "Write a file's content (or PATH:STREAM, an alternate stream) to stdout.")
public final class FsCatCommand implements Callable<Integer> {
    /** Bytes per read: large enough for sequential disk reads, small enough to stay in cache. */
    static final int CHUNK = 1 << 20;

    @CommandLine.Mixin
    FsCommand.DiskOptionsMixin diskOptions;

    @CommandLine.Parameters(index = "1", paramLabel = "PATH[:STREAM]", description = "File on the volume.")
    String path;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Where the bytes go; stdout unless a test substitutes a stream. */
    OutputStream out = new FileOutputStream(FileDescriptor.out);

    @Override
    public Integer call() throws Exception {
        try (FsCommand.Opened o = new FsCommand.Opened(diskOptions.options(), spec.commandLine().getErr())) {
            FsCommand.Target t = FsCommand.resolve(o.volume, path);
            StreamReader r = o.volume.open(t.file(), FsCommand.stream(t, path));
            copy(r, out);
            return o.warnings > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
        }
    }

    /** Copies the whole stream to {@code out} in {@link #CHUNK} reads. */
    static void copy(StreamReader r, OutputStream out) throws java.io.IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK, Math.max(r.size(), 1)));
        long pos = 0;
        while (true) {
            buf.clear();
            int n = r.read(pos, buf);
            if (n <= 0) {
                break;
            }
            out.write(buf.array(), 0, n);
            pos += n;
        }
        out.flush();
    }
}
