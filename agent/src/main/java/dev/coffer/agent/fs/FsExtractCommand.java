package dev.coffer.agent.fs;

import dev.coffer.agent.ExitCodes;
import dev.coffer.ntfs.FileRecord;
import dev.coffer.ntfs.NtfsException;
import dev.coffer.ntfs.StreamInfo;
import dev.coffer.ntfs.VolumeTree;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code coffer fs extract DISK [PATH] --to DIR [--streams]}: copies the tree under PATH into DIR
 * keeping relative paths and modification times. Links are written as the (empty) files they are
 * on disk, never as symlinks; every name is checked so nothing is written outside DIR; existing
 * files are not overwritten and symlinks already in DIR are not followed.
 */
@Command(mixinStandardHelpOptions = true, name = "extract", description = "Copy the tree under PATH (default /) into DIR, with modification times.")
public final class FsExtractCommand implements Callable<Integer> {
    @CommandLine.Mixin
    FsCommand.DiskOptionsMixin diskOptions;

    @CommandLine.Parameters(index = "1", arity = "0..1", paramLabel = "PATH", description = "Directory or file (default /).")
    String path = "/";

    @CommandLine.Option(names = "--to", required = true, paramLabel = "DIR", description = "Destination directory.")
    Path to;

    @CommandLine.Option(names = "--streams", description = "Also write alternate data streams, as NAME:STREAM files.")
    boolean streams;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private int failures;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        try (FsCommand.Opened o = new FsCommand.Opened(diskOptions.options(), err)) {
            FileRecord start = FsCommand.resolve(o.volume, path).file();
            Files.createDirectories(to);
            Path root = to.toRealPath();
            long files = 0;
            if (!start.directory()) {
                FileRecord f = start;
                String name = FsLsCommand.normalize(path);
                files += write(o, root, name.substring(name.lastIndexOf('/') + 1), f, err);
            } else {
                VolumeTree tree = o.volume.tree();
                Deque<Object[]> dirTimes = new ArrayDeque<>();
                long[] count = new long[1];
                tree.walk(tree.record(start.mftRecordNumber()), (rel, f) -> {
                    if (tree.metafile(f)) {
                        return false;
                    }
                    Path target = safe(root, rel, err);
                    if (target == null) {
                        return false;
                    }
                    if (f.directory() && !f.link()) {
                        Files.createDirectories(target);
                        if (f.standardInformation() != null) {
                            dirTimes.push(new Object[] {target, f});
                        }
                        return true;
                    }
                    count[0] += write(o, root, rel, f, err);
                    return false;
                });
                files += count[0];
                for (Object[] d : dirTimes) { // deepest first: children were written before
                    setTime((Path) d[0], (FileRecord) d[1]);
                }
            }
            err.flush();
            spec.commandLine().getOut().println("extracted " + files + " files to " + root);
            spec.commandLine().getOut().flush();
            return failures + o.warnings > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
        }
    }

    /** Writes a file's unnamed stream (and with --streams its named ones); returns files written. */
    private int write(FsCommand.Opened o, Path root, String rel, FileRecord f, PrintWriter err) throws IOException {
        int n = 0;
        for (StreamInfo s : f.dataStreams()) {
            if (!s.name().isEmpty() && !streams) {
                continue;
            }
            String name = s.name().isEmpty() ? rel : rel + ":" + s.name();
            Path target = safe(root, name, err);
            if (target == null) {
                continue;
            }
            try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS)) {
                FsCatCommand.copy(o.volume.open(f, s), out);
            } catch (FileAlreadyExistsException e) {
                fail(err, name + ": already exists in the destination, not overwritten");
                continue;
            } catch (NtfsException e) {
                fail(err, name + ": " + e.getMessage());
                continue;
            }
            setTime(target, f);
            n++;
        }
        if (f.dataStreams().isEmpty() || f.dataStream("").isEmpty()) {
            // a link or a file without unnamed data: still create the (empty) name
            Path target = safe(root, rel, err);
            if (target != null && !Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                Files.createFile(target);
                setTime(target, f);
                n++;
            }
        }
        return n;
    }

    /**
     * The destination for relative volume path {@code rel}, or null (reported) when a component is
     * empty, "." or "..", holds a NUL or a backslash-dot-dot, or the result would leave {@code root}.
     */
    Path safe(Path root, String rel, PrintWriter err) {
        for (String part : rel.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..") || part.indexOf('\0') >= 0) {
                fail(err, rel + ": name would escape the destination, skipped");
                return null;
            }
        }
        Path p = root.resolve(rel).normalize();
        if (!p.startsWith(root) || p.equals(root)) {
            fail(err, rel + ": name would escape the destination, skipped");
            return null;
        }
        return p;
    }

    private void fail(PrintWriter err, String msg) {
        failures++;
        err.println("coffer: warning: " + msg);
    }

    private static void setTime(Path p, FileRecord f) throws IOException {
        if (f.standardInformation() != null) {
            Files.getFileAttributeView(p, java.nio.file.attribute.BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setTimes(FileTime.from(f.standardInformation().modified()), null, null);
        }
    }
}
