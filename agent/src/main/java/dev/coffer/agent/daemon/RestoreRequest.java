package dev.coffer.agent.daemon;

import dev.coffer.agent.restore.ExistingPolicy;
import java.util.Locale;

/**
 * What a restore asked for on the socket, the same choices {@code coffer restore} offers: files, a
 * stream, a tree or glob matches of a backup into a directory or a restore-target server; the VM's
 * own files; or a whole disk as an image file. Validated by {@link AgentDaemon#requestRestore}.
 *
 * @param spec the backup and path: {@code [VM@]ID|latest[:/PATH[:STREAM]]}
 * @param vm the VM when the spec does not name it (null: the catalog's only VM)
 * @param volume {@code SLOT/PARTITION} when the backup has several NTFS volumes, else null
 * @param streams also every alternate data stream of the files
 * @param glob only files whose name matches this glob, or null
 * @param existing what to do with a file that exists at the target
 * @param workers download and upload workers each, or 0 for the defaults
 * @param to an absolute directory on the controller, an {@code http(s)://} restore-target URL, or
 *     (disk restores) an absolute image file path
 * @param targetToken the restore target's token (URL targets only), else null
 * @param disk the disk to rebuild: its slot ({@code scsi0:0}) or index in the backup's disk list, else null
 * @param format with {@code disk}: {@link DiskFormat}
 * @param vmFiles restore the VM's own files kept with the backup ({@code .vmx}, {@code .vmsd}, {@code .nvram})
 * @param directIo write restored files of 1 MiB or more past the page cache ({@code O_DIRECT}; local
 *     directories only: {@code DirectoryTarget.Options#directWrites})
 */
public record RestoreRequest(String spec, String vm, String volume, boolean streams, String glob,
        ExistingPolicy existing, int workers, String to, String targetToken, String disk, DiskFormat format,
        boolean vmFiles, boolean directIo) {

    /** Most workers a restore may ask for: 64 threads each way is far beyond what 2 cores or a NIC use. */
    public static final int MAX_WORKERS = 64;

    /** How a whole disk is written. */
    public enum DiskFormat {
        /** Every byte of the disk (a sparse file: zeros where the backup holds nothing). */
        RAW("raw"),
        /** A streamOptimized VMDK (compressed grains), written front to back. */
        VMDK_STREAM("vmdk-stream"),
        /** A monolithicSparse VMDK (one growable extent, uncompressed grains), written front to back. */
        VMDK_SPARSE("vmdk-sparse");

        private final String json;

        DiskFormat(String json) {
            this.json = json;
        }

        /** The spelling in the API and on the CLI. */
        public String json() {
            return json;
        }

        /** Parses {@code raw}, {@code vmdk-stream} ({@code vmdk} is accepted for it, as the CLI does) or {@code vmdk-sparse}. */
        public static DiskFormat parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "raw" -> RAW;
                case "vmdk-stream", "vmdk" -> VMDK_STREAM;
                case "vmdk-sparse" -> VMDK_SPARSE;
                default -> throw new IllegalArgumentException("format: expected raw, vmdk-stream or vmdk-sparse, found \""
                        + s + "\"");
            };
        }
    }

    /** Parses skip, overwrite or rename. */
    public static ExistingPolicy existing(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "skip" -> ExistingPolicy.SKIP;
            case "overwrite" -> ExistingPolicy.OVERWRITE;
            case "rename" -> ExistingPolicy.RENAME;
            default -> throw new IllegalArgumentException("existing: expected skip, overwrite or rename, found \"" + s + "\"");
        };
    }

    /** Whether {@code to} names a restore-target server. */
    public boolean remoteTarget() {
        return to.startsWith("http://") || to.startsWith("https://");
    }

    /** How the job shows what it restores: the spec, with the VM and volume when given apart. */
    String display() {
        String s = (vm != null && !spec.contains("@") ? vm + "@" : "") + spec;
        if (volume != null) {
            s += " volume " + volume;
        }
        if (disk != null) {
            s += " disk " + disk + " as " + format.json();
        }
        return s;
    }
}
