package dev.coffer.agent.fs;

import dev.coffer.agent.ExitCodes;
import dev.coffer.ntfs.FileName;
import dev.coffer.ntfs.FileRecord;
import dev.coffer.ntfs.Run;
import dev.coffer.ntfs.StandardInformation;
import dev.coffer.ntfs.StreamInfo;
import dev.coffer.ntfs.VolumeInfo;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code coffer fs stat DISK PATH}: everything the MFT says about one file, streams and cluster runs included. */
@Command(mixinStandardHelpOptions = true, name = "stat", description = "Show a file's MFT record: names, times, attributes, reparse point, streams and runs.")
public final class FsStatCommand implements Callable<Integer> {
    @CommandLine.Mixin
    FsCommand.DiskOptionsMixin diskOptions;

    @CommandLine.Parameters(index = "1", paramLabel = "PATH", description = "File or directory on the volume.")
    String path;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (FsCommand.Opened o = new FsCommand.Opened(diskOptions.options(), spec.commandLine().getErr())) {
            FileRecord f = FsCommand.resolve(o.volume, path).file();
            VolumeInfo vi = o.volume.info();
            out.printf("volume: %s label=\"%s\" serial=%s NTFS %d.%d cluster=%d%s%s%n", o.disk.description(), vi.label(),
                    vi.shortSerial(), vi.majorVersion(), vi.minorVersion(), vi.clusterSize(), vi.dirty() ? " DIRTY" : "",
                    vi.hibernated() ? " HIBERNATED" : "");
            out.printf("record: %d sequence %d links %d %s%n", f.mftRecordNumber(), f.sequenceNumber(), f.hardLinkCount(),
                    f.directory() ? "directory" : "file");
            for (String p : o.volume.paths(f)) {
                out.println("path: " + p);
            }
            for (FileName n : f.names()) {
                out.printf("name: \"%s\" namespace %s parent %d-%d%n", n.name(), n.namespace(), n.parentRecordNumber(),
                        n.parentSequenceNumber());
            }
            StandardInformation si = f.standardInformation();
            if (si != null) {
                out.println("created:  " + si.created());
                out.println("modified: " + si.modified());
                out.println("mft modified: " + si.mftModified());
                out.println("accessed: " + si.accessed());
                out.printf("attributes: 0x%08x security id %d owner id %d usn %d%n", si.fileAttributes(), si.securityId(),
                        si.ownerId(), si.usn());
            }
            if (f.reparsePoint() != null) {
                out.printf("reparse: %s (0x%08X)%s%n", f.reparsePoint().tagName(), f.reparsePoint().tag(),
                        f.reparsePoint().target() == null ? "" : " -> " + f.reparsePoint().target());
            }
            if (f.objectId() != null) {
                out.println("object id: " + f.objectId());
            }
            for (StreamInfo s : f.streams()) {
                out.printf("stream: %s%s size %d allocated %d initialized %d%s%s%s%s%n", s.typeName(),
                        s.name().isEmpty() ? "" : ":" + s.name(), s.size(), s.allocatedSize(), s.initializedSize(),
                        s.resident() ? " resident" : "", s.compressed() ? " compressed(" + s.compressionUnitClusters() + ")" : "",
                        s.sparse() ? " sparse" : "", s.encrypted() ? " encrypted" : "");
                for (Run r : s.runs()) {
                    out.printf("  vcn %d lcn %s clusters %d%n", r.vcn(), r.sparse() ? "sparse" : Long.toString(r.lcn()),
                            r.clusterCount());
                }
            }
            out.flush();
            return o.warnings > 0 ? ExitCodes.PARTIAL : ExitCodes.OK;
        }
    }
}
