package dev.coffer.agent.fs;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.coffer.agent.ExitCodes;
import dev.coffer.ntfs.DirectoryEntry;
import dev.coffer.ntfs.FileRecord;
import dev.coffer.ntfs.NtfsVolume;
import dev.coffer.ntfs.StandardInformation;
import dev.coffer.ntfs.StreamInfo;
import dev.coffer.ntfs.VolumeTree;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code coffer fs ls [-r] [--all] [--json] DISK [PATH]}: one line per file, directory and
 * alternate stream: type (d/r/l), size in bytes, modification time (ISO-8601 UTC), path from the
 * root with '/', streams as path:stream. {@code -r} builds the whole tree from one MFT scan.
 */
@Command(mixinStandardHelpOptions = true, name = "ls", description = "List files: type (d/r/l), size, modified (UTC), path; streams as path:stream.")
public final class FsLsCommand implements Callable<Integer> {
    @CommandLine.Mixin
    FsCommand.DiskOptionsMixin diskOptions;

    @CommandLine.Parameters(index = "1", arity = "0..1", paramLabel = "PATH", description = "Directory or file (default /).")
    String path = "/";

    @CommandLine.Option(names = {"-r", "--recursive"}, description = "List the whole subtree.")
    boolean recursive;

    @CommandLine.Option(names = "--all", description = "Include the NTFS metafiles ($MFT, $Bitmap, $Extend/...).")
    boolean all;

    @CommandLine.Option(names = "--json", description = "A JSON array of objects instead of text.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private Sink sink;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (FsCommand.Opened o = new FsCommand.Opened(diskOptions.options(), spec.commandLine().getErr())) {
            NtfsVolume v = o.volume;
            FileRecord start = FsCommand.resolve(v, path).file();
            String base = normalize(path);
            sink = json ? new JsonSink(out) : new TextSink(out);
            if (!start.directory()) {
                emit(base, start);
            } else if (recursive) {
                VolumeTree tree = v.tree();
                FileRecord dir = tree.record(start.mftRecordNumber());
                if (!base.equals("/")) {
                    emit(base, dir);
                }
                String prefix = base.equals("/") ? "/" : base + "/";
                tree.walk(dir, (rel, f) -> {
                    if (!all && tree.metafile(f)) {
                        return false;
                    }
                    emit(prefix + rel, f);
                    return true;
                });
            } else {
                String prefix = base.equals("/") ? "/" : base + "/";
                for (DirectoryEntry e : v.list(start)) {
                    if (e.fileName().dosOnly() || e.mftRecordNumber() == start.mftRecordNumber()) {
                        continue;
                    }
                    if (!all && start.mftRecordNumber() == FileRecord.ROOT
                            && (e.mftRecordNumber() < FileRecord.FIRST_USER_RECORD)) {
                        continue;
                    }
                    FileRecord f;
                    try {
                        f = v.record(e.mftRecordNumber());
                    } catch (IOException ex) {
                        spec.commandLine().getErr().println("coffer: warning: " + prefix + e.name() + ": " + ex.getMessage());
                        o.warnings++;
                        continue;
                    }
                    emit(prefix + e.name(), f);
                }
            }
            sink.finish();
            return o.warnings > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
        }
    }

    static String normalize(String p) {
        StringBuilder sb = new StringBuilder();
        for (String part : p.split("/")) {
            if (!part.isEmpty() && !part.equals(".")) {
                sb.append('/').append(part);
            }
        }
        return sb.length() == 0 ? "/" : sb.toString();
    }

    private void emit(String p, FileRecord f) throws IOException {
        sink.entry(p, f, null);
        for (StreamInfo s : f.streams()) {
            if (s.isData() && !s.name().isEmpty()) {
                sink.entry(p + ":" + s.name(), f, s);
            }
        }
    }

    /** Where entries go: text lines or JSON objects. */
    private interface Sink {
        void entry(String path, FileRecord f, StreamInfo stream) throws IOException;

        void finish() throws IOException;
    }

    /** Text lines, written in 64 KiB batches (a listing of 20k files is one syscall per ~700 lines). */
    private static final class TextSink implements Sink {
        private final PrintWriter out;
        private final StringBuilder sb = new StringBuilder(1 << 16);

        TextSink(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void entry(String path, FileRecord f, StreamInfo stream) {
            StandardInformation si = f.standardInformation();
            long size = stream != null ? stream.size() : f.directory() ? 0 : f.size();
            sb.append(stream != null ? 'r' : FsFormat.type(f)).append(' ');
            String n = Long.toString(size);
            for (int i = n.length(); i < 12; i++) {
                sb.append(' ');
            }
            sb.append(n).append(' ').append(FsFormat.iso(si == null ? null : si.modified())).append(' ').append(path).append('\n');
            if (sb.length() > (1 << 16) - 512) {
                out.write(sb.toString());
                sb.setLength(0);
            }
        }

        @Override
        public void finish() {
            out.write(sb.toString());
            out.flush();
        }
    }

    /** A JSON array of one object per entry. */
    private static final class JsonSink implements Sink {
        private final JsonGenerator g;

        JsonSink(PrintWriter out) throws IOException {
            g = new JsonFactory().createGenerator(out);
            g.writeStartArray();
        }

        @Override
        public void entry(String path, FileRecord f, StreamInfo stream) throws IOException {
            StandardInformation si = f.standardInformation();
            g.writeStartObject();
            g.writeStringField("path", path);
            g.writeStringField("type", String.valueOf(stream != null ? 'r' : FsFormat.type(f)));
            g.writeNumberField("size", stream != null ? stream.size() : f.directory() ? 0 : f.size());
            if (stream != null) {
                g.writeStringField("stream", stream.name());
            }
            if (si != null) {
                g.writeStringField("modified", FsFormat.iso(si.modified()));
                g.writeStringField("created", FsFormat.iso(si.created()));
                g.writeStringField("accessed", FsFormat.iso(si.accessed()));
                g.writeStringField("mftModified", FsFormat.iso(si.mftModified()));
                g.writeNumberField("attributes", si.fileAttributes());
            }
            g.writeNumberField("mftRecordNumber", f.mftRecordNumber());
            g.writeNumberField("sequenceNumber", f.sequenceNumber());
            if (f.reparsePoint() != null) {
                g.writeStringField("reparseTag", f.reparsePoint().tagName());
                if (f.reparsePoint().target() != null) {
                    g.writeStringField("target", f.reparsePoint().target());
                }
            }
            g.writeEndObject();
        }

        @Override
        public void finish() throws IOException {
            g.writeEndArray();
            g.writeRaw('\n');
            g.flush();
        }
    }
}
