package dev.coffer.agent.backup;

import dev.coffer.agent.discovery.VirtualMachine;
import dev.coffer.agent.pit.PointInTime;
import dev.coffer.agent.pit.ReflinkCloneSource;
import dev.coffer.catalog.BackupInfo;
import dev.coffer.catalog.Catalog;
import dev.coffer.dedup.Destination;
import dev.coffer.vmdk.ExtentDescriptor;
import dev.coffer.vmdk.Layer;
import dev.coffer.vmdk.VirtualDisk;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One backup of one VM: registers it in the catalog, backs up each disk from its point-in-time
 * source, and commits as {@code docs/backup.md} says — the destination durably holds every block
 * and the backup's manifest before the catalog shows the backup complete.
 *
 * <p>A disk that cannot be read fails alone, with a one-line reason naming the file; the others go
 * on and the backup completes as partial. If no disk succeeds the backup is marked failed.
 */
public final class BackupJob {
    private static final Logger log = LoggerFactory.getLogger(BackupJob.class);

    /** What happened to one disk. */
    public record DiskOutcome(String slot, Path leaf, boolean ok, String error, long files, long bytesRead,
            List<String> warnings) {}

    /** What the backup did. */
    public record Report(long backupId, BackupInfo info, List<DiskOutcome> disks, Duration elapsed,
            long bytesRead, long bytesCarried, long bytesNew, long bytesSent, long files) {
        /** True when every disk was backed up. */
        public boolean complete() {
            return info != null && disks.stream().allMatch(DiskOutcome::ok);
        }
    }

    private final Catalog catalog;
    private final Destination destination;
    private final String destinationName;
    private final BackupOptions options;
    private final Clock clock;
    private ReadThrottle throttle = ReadThrottle.NONE;

    /**
     * @param destinationName how the catalog names this destination (e.g. {@code local:/backup/store})
     */
    public BackupJob(Catalog catalog, Destination destination, String destinationName, BackupOptions options,
            Clock clock) {
        this.catalog = catalog;
        this.destination = destination;
        this.destinationName = destinationName;
        this.options = options;
        this.clock = clock;
    }

    /** Paces this job's reads (the load-aware scheduler's job); {@link ReadThrottle#NONE} by default. */
    public BackupJob withThrottle(ReadThrottle throttle) {
        this.throttle = throttle;
        return this;
    }

    /**
     * Backs up {@code vm} (found in {@code datastore}) from {@code pit}. Per-disk failures are in the
     * report; an exception means the backup as a whole failed (and is marked so in the catalog).
     */
    public Report run(Path datastore, VirtualMachine vm, PointInTime pit, String policy, Counters counters,
            BooleanSupplier cancelled) throws IOException {
        long start = System.nanoTime();
        long dsId = catalog.datastore(datastore.toAbsolutePath().normalize().toString());
        long vmId = catalog.vm(dsId, vm.folder().getFileName().toString(), vm.displayName(), vm.uuid());
        OptionalLong previous = catalog.latest(vmId).map(b -> OptionalLong.of(b.id())).orElse(OptionalLong.empty());
        long backupId = catalog.beginBackup(vmId, clock.instant(), pit.consistency(), policy);
        log.info("backup start job={} vm=\"{}\" disks={} source={} previous={} reread={}", backupId, vm.displayName(),
                vm.disks().size(), pit.consistency(), previous.isPresent() ? previous.getAsLong() : "none",
                options.reread());
        List<DiskOutcome> outcomes = new ArrayList<>();
        DedupSink sink = new DedupSink(catalog, destinationName, destination, options.blockBytes() + options.tailAllowance());
        try {
            for (VirtualMachine.VmDisk d : vm.disks()) {
                outcomes.add(backupDisk(vmId, backupId, d, pit, sink, counters, cancelled, previous));
            }
            if (outcomes.stream().noneMatch(DiskOutcome::ok)) {
                String why = outcomes.isEmpty() ? "the VM has no disks" : outcomes.get(0).error();
                catalog.markFailed(backupId, clock.instant(), why);
                throw new BackupException("backup of " + vm.displayName() + " failed: " + why);
            }
            if (cancelled.getAsBoolean()) {
                // asked to stop after the last read (whose workers do not look): never commit then
                throw new java.io.InterruptedIOException("backup cancelled");
            }
            keepVmFiles(vmId, backupId, vm, pit, sink);
            sink.drain();
            catalog.markStored(destinationName, sink.stored());
            commitManifest(backupId, vm);
            BackupInfo info = catalog.markComplete(backupId, clock.instant());
            counters.bytesNew.set(sink.bytesNew.get());
            counters.bytesSent.set(sink.bytesSentStored.get());
            Report report = new Report(backupId, info, List.copyOf(outcomes), Duration.ofNanos(System.nanoTime() - start),
                    counters.bytesRead.get(), counters.bytesCarried.get(), sink.bytesNew.get(),
                    sink.bytesSentStored.get(), counters.files.get());
            log.info("backup done job={} vm=\"{}\" files={} read={} new={} sent={} seconds={}", backupId,
                    vm.displayName(), report.files(), report.bytesRead(), report.bytesNew(), report.bytesSent(),
                    report.elapsed().toMillis() / 1000.0);
            return report;
        } catch (IOException | RuntimeException e) {
            failQuietly(backupId, e);
            throw e;
        } catch (Exception e) {
            failQuietly(backupId, e);
            throw new BackupException("backup of " + vm.displayName() + " failed: " + e.getMessage(), e);
        } finally {
            sink.close();
        }
    }

    private void failQuietly(long backupId, Exception e) {
        try {
            if (catalog.backup(backupId).map(b -> b.state() == dev.coffer.catalog.BackupState.RUNNING).orElse(false)) {
                catalog.markFailed(backupId, clock.instant(), String.valueOf(e.getMessage()));
            }
        } catch (IOException suppressed) {
            e.addSuppressed(suppressed);
        }
    }

    private DiskOutcome backupDisk(long vmId, long backupId, VirtualMachine.VmDisk d, PointInTime pit, DedupSink sink,
            Counters counters, BooleanSupplier cancelled, OptionalLong previous) throws IOException {
        try (VirtualDisk disk = open(d.leaf(), pit)) {
            List<String> chain = new ArrayList<>();
            for (Layer l : disk.chain()) {
                chain.add(0, l.path().getFileName().toString());
            }
            long diskId = catalog.disk(vmId, d.slot(), d.leaf().toString(), chain, disk.size());
            String layers = ChainState.describe(disk);
            Extents changed = null;
            if (previous.isPresent() && !options.reread()) {
                changed = ChainState.changedSince(disk, layers, catalog.diskLayers(previous.getAsLong(), diskId).orElse(null));
            }
            log.debug("disk change tracking disk={} changedBytes={}", diskId, changed == null ? "unknown" : changed.total());
            BlockPipeline pipeline = new BlockPipeline(disk, sink, throttle, options.workers(),
                    options.buffers(), options.blockBytes() + options.tailAllowance(), counters.bytesRead,
                    options.idleIo());
            ReadAhead ahead = null;
            try {
                // a full read of an unthrottled backup (--no-throttle: no governor, no idle I/O class):
                // the extent files read ahead of the readers (ReadAhead)
                if (throttle == ReadThrottle.NONE && !options.idleIo() && (previous.isEmpty() || options.reread())) {
                    ahead = ReadAhead.start(extentFiles(disk));
                }
                BackupContext ctx = new BackupContext(catalog, backupId, pipeline, sink, options.blockBytes(),
                        options.tailAllowance(), counters, cancelled, changed, options.reread());
                DiskBackup.Result r = new DiskBackup(ctx, disk, diskId).run(previous);
                // the chain's files as they were when the read began, if they still are: what the next
                // backup compares its own chain with (ChainState)
                long lookedAt = java.time.Instant.now().toEpochMilli() * 1_000_000L;
                String after = ChainState.describe(disk);
                boolean stable = layers != null && layers.equals(after) && ChainState.settled(layers, lookedAt);
                catalog.recordDisk(backupId, diskId, chain, disk.size(), r.bytesRead(), stable ? layers : null);
                for (String w : r.warnings()) {
                    log.warn("backup warning job={} disk={} {}", backupId, d.slot(), w);
                }
                return new DiskOutcome(d.slot(), d.leaf(), true, null, r.files(), r.bytesRead(), r.warnings());
            } finally {
                if (ahead != null) {
                    ahead.close();
                }
                pipeline.close();
            }
        } catch (java.io.InterruptedIOException e) {
            throw e;
        } catch (IOException e) {
            String why = why(d.leaf(), e);
            log.error("disk failed job={} disk={} error=\"{}\"", backupId, d.slot(), why);
            return new DiskOutcome(d.slot(), d.leaf(), false, why, 0, 0, List.of());
        }
    }

    /** The extent files of a disk's chain, the base's first (the order a full read mostly takes). */
    private static List<dev.coffer.vmdk.ExtentFile> extentFiles(VirtualDisk disk) {
        List<dev.coffer.vmdk.ExtentFile> files = new ArrayList<>();
        List<Layer> chain = disk.chain();
        for (int i = chain.size() - 1; i >= 0; i--) {
            files.addAll(chain.get(i).extentFiles());
        }
        return files;
    }

    /**
     * A disk's failure in one line that starts with the disk. The JDK's file errors carry only a path
     * ({@code NoSuchFileException}'s message is the path itself), so their kind is named here: "no such
     * file", "permission denied", or the reason the error gives; and the file, when it is another one
     * than the disk (an extent, a parent in the chain).
     */
    static String why(Path leaf, IOException e) {
        if (e instanceof java.nio.file.FileSystemException f && f.getFile() != null) {
            String reason = f.getReason() != null ? f.getReason()
                    : e instanceof java.nio.file.NoSuchFileException ? "no such file"
                    : e instanceof java.nio.file.AccessDeniedException ? "permission denied"
                    : e.getClass().getSimpleName();
            return f.getFile().equals(leaf.toString()) ? leaf + ": " + reason : leaf + ": " + f.getFile() + ": " + reason;
        }
        return leaf + ": " + e.getMessage();
    }

    /**
     * Keeps the VM's own small files ({@code .vmx}, {@code .vmsd}, {@code .nvram}, ...) with the
     * backup, so the VM can be registered again after a restore. They are recorded as regions of
     * kind {@code vm-file:NAME} on the VM's first disk (offset 0, their length), with their blocks.
     */
    private void keepVmFiles(long vmId, long backupId, VirtualMachine vm, PointInTime pit, DedupSink sink)
            throws IOException {
        List<dev.coffer.catalog.DiskInfo> disks = catalog.disks(vmId);
        if (disks.isEmpty() || vm.metadataFiles().isEmpty()) {
            return;
        }
        long diskId = disks.get(0).id();
        dev.coffer.dedup.BlockHasher hasher = dev.coffer.dedup.BlockHasher.forThread();
        for (Path live : vm.metadataFiles()) {
            Path file = pit.resolve(live);
            long size = java.nio.file.Files.size(file);
            if (size > MAX_VM_FILE_BYTES) {
                log.warn("vm file not kept job={} file={} bytes={} (over {})", backupId, file, size, MAX_VM_FILE_BYTES);
                continue;
            }
            java.nio.ByteBuffer data = java.nio.ByteBuffer.wrap(java.nio.file.Files.readAllBytes(file));
            List<dev.coffer.catalog.BlockRef> refs = new ArrayList<>();
            if (data.hasRemaining()) {
                dev.coffer.dedup.BlockHash h = hasher.hash(data.duplicate());
                sink.offer(h, data);
                refs.add(new dev.coffer.catalog.BlockRef(0, new dev.coffer.catalog.Block(h.sha256(), h.md5(), data.remaining())));
            }
            catalog.recordRegion(backupId, diskId, 0, size, VM_FILE_KIND + live.getFileName(), refs);
        }
    }

    /** Region kind prefix of a VM's own files kept with a backup. */
    public static final String VM_FILE_KIND = "vm-file:";
    /** VMware's configuration files are a few KB; an .nvram is 8-270 KB. Larger is not one of them. */
    private static final long MAX_VM_FILE_BYTES = 8L << 20;

    /** Opens a disk as the point-in-time source presents it (a clone, a snapshot copy, frozen parents). */
    static VirtualDisk open(Path leaf, PointInTime pit) throws IOException {
        if (pit instanceof ReflinkCloneSource) {
            // clone every file of the chain first, then open the clones together
            try (VirtualDisk live = VirtualDisk.open(leaf)) {
                for (Layer l : live.chain()) {
                    pit.resolve(l.path());
                    for (ExtentDescriptor e : l.extents()) {
                        if (e.fileName() != null && !e.fileName().isEmpty()) {
                            pit.resolve(l.path().resolveSibling(e.fileName()));
                        }
                    }
                }
            }
        }
        Path resolved = pit.resolve(leaf);
        if (!pit.skipLeaf()) {
            return VirtualDisk.open(resolved);
        }
        Path parent;
        try (VirtualDisk live = VirtualDisk.open(resolved)) {
            if (live.chain().size() < 2) {
                throw new BackupException(leaf + ": the VM has no active snapshot, so there are no frozen parents"
                        + " to read (use a storage snapshot, a reflink clone, or allow live reads)");
            }
            parent = live.chain().get(1).path();
        }
        return VirtualDisk.open(parent);
    }

    /** Commits the set of blocks the backup references; the destination's GC keeps exactly these. */
    private void commitManifest(long backupId, VirtualMachine vm) throws Exception {
        List<byte[]> refs = new ArrayList<>();
        catalog.forEachReferencedBlock(List.of(backupId), refs::add);
        destination.commitManifest(manifestId(backupId), refs).get();
    }

    /**
     * The manifest name of a backup at the destination: a tag of this catalog plus the backup id,
     * so several controllers can share one destination without their ids colliding.
     */
    public String manifestId(long backupId) {
        return catalogTag(catalog.file()) + "-" + backupId;
    }

    static String catalogTag(Path catalogFile) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            String host = java.net.InetAddress.getLocalHost().getHostName();
            md.update((host + "\0" + catalogFile.toAbsolutePath().normalize()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest(), 0, 6);
        } catch (NoSuchAlgorithmException | java.net.UnknownHostException e) {
            return "local";
        }
    }

}
