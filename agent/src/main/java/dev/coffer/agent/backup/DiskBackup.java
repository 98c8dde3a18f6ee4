package dev.coffer.agent.backup;

import dev.coffer.catalog.BlockRef;
import dev.coffer.catalog.Catalog;
import dev.coffer.ntfs.NtfsException;
import dev.coffer.ntfs.NtfsVolume;
import dev.coffer.vmdk.AllocatedRange;
import dev.coffer.vmdk.Partition;
import dev.coffer.vmdk.PartitionTable;
import dev.coffer.vmdk.VirtualDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backs up one virtual disk: each NTFS partition file by file ({@link NtfsVolumeBackup}), every
 * other partition and the space outside partitions as fixed blocks over allocated grains.
 */
final class DiskBackup {
    private static final Logger log = LoggerFactory.getLogger(DiskBackup.class);
    /** "NTFS    " at offset 3 of an NTFS boot sector. */
    private static final byte[] NTFS_OEM = "NTFS    ".getBytes(StandardCharsets.US_ASCII);

    /** What one disk's backup did. */
    record Result(long files, long bytesRead, int ntfsVolumes, int rawRegions, List<String> warnings) {}

    private final BackupContext ctx;
    private final VirtualDisk disk;
    private final long diskId;

    DiskBackup(BackupContext ctx, VirtualDisk disk, long diskId) {
        this.ctx = ctx;
        this.disk = disk;
        this.diskId = diskId;
    }

    Result run(OptionalLong previousBackup) throws IOException {
        Catalog catalog = ctx.catalog();
        List<String> warnings = new ArrayList<>();
        PartitionTable table = PartitionTable.read(disk);
        List<Partition> parts = new ArrayList<>();
        for (Partition p : table.partitions()) {
            if (!"extended".equals(p.kind())) {
                parts.add(p);
            }
        }
        if (table.scheme() == PartitionTable.Scheme.NONE) {
            // a bare volume image (no partition table): the whole disk is one candidate volume
            parts.add(new Partition(0, 0, disk.size(), 0, "", "whole-disk", "", ""));
        }
        long startRead = ctx.counters().bytesRead.get();
        Extents allocated = allocatedBytes();
        ctx.counters().bytesPlanned.addAndGet(allocated.total());
        List<long[]> ntfsRanges = new ArrayList<>();
        List<long[]> partRanges = new ArrayList<>();
        long files = 0;
        int ntfs = 0;
        for (Partition p : parts) {
            partRanges.add(new long[] {p.offset(), p.length()});
            if (!looksNtfs(p)) {
                continue;
            }
            NtfsVolume vol;
            try {
                vol = NtfsVolume.open(new DiskVolumeSource(disk, p.offset(), p.length()), e -> {
                    warnings.add("partition " + p.index() + ": " + e.getMessage());
                    log.warn("ntfs problem disk={} partition={} error={}", diskId, p.index(), e.getMessage());
                });
            } catch (NtfsException e) {
                warnings.add("partition " + p.index() + " looks like NTFS but cannot be read (" + e.getMessage()
                        + "); backed up as raw blocks");
                continue;
            }
            long volumeId = catalog.volume(diskId, p.index(), p.offset(), p.length(), "ntfs",
                    String.format(Locale.ROOT, "%016X", vol.info().serial()), vol.info().clusterSize());
            NtfsVolumeBackup.Result r = new NtfsVolumeBackup(ctx, vol, p.offset(), p.length(), volumeId, diskId)
                    .run(previousBackup);
            files += r.files();
            ctx.counters().files.addAndGet(r.files());
            ntfsRanges.add(new long[] {p.offset(), p.length()});
            ntfs++;
            log.debug("volume done disk={} partition={} files={} added={} carried={} raw={}", diskId, p.index(),
                    r.files(), r.ingest().added(), r.ingest().carried(), r.rawRegionBytes());
        }
        // everything allocated outside the NTFS volumes: other partitions, then the gaps between them
        Extents outside = allocated.minus(Extents.of(ntfsRanges));
        int regions = 0;
        for (Partition p : parts) {
            if (ntfsRanges.stream().anyMatch(r -> r[0] == p.offset())) {
                continue;
            }
            Extents mine = outside.intersect(Extents.range(p.offset(), p.end()));
            catalog.volume(diskId, p.index(), p.offset(), p.length(), "raw", "", 0);
            regions += region(mine, p.offset(), p.length(), "raw-partition-" + p.index());
        }
        Extents gaps = outside.minus(Extents.of(partRanges));
        regions += region(gaps, 0, disk.size(), "gap");
        return new Result(files, ctx.counters().bytesRead.get() - startRead, ntfs, regions, warnings);
    }

    /** The disk's allocated bytes (grains holding data anywhere in the chain; zero grains excluded). */
    private Extents allocatedBytes() throws IOException {
        List<long[]> data = new ArrayList<>();
        for (AllocatedRange r : disk.allocation(0, disk.size())) {
            if (r.kind() == AllocatedRange.Kind.DATA) {
                data.add(new long[] {r.offset(), r.length()});
            }
        }
        return Extents.of(data);
    }

    private boolean looksNtfs(Partition p) throws IOException {
        if (p.length() < 512) {
            return false;
        }
        ByteBuffer b = ByteBuffer.allocate(11);
        disk.read(p.offset(), b);
        for (int i = 0; i < NTFS_OEM.length; i++) {
            if (b.get(3 + i) != NTFS_OEM[i]) {
                return false;
            }
        }
        return true;
    }

    /** Backs up {@code ranges} on a grid aligned to {@code origin}; records one region; returns 1 if any. */
    private int region(Extents ranges, long origin, long length, String kind) throws IOException {
        if (ranges.isEmpty()) {
            return 0;
        }
        List<BlockTask> tasks = Planner.grid(ranges, origin, ctx.blockBytes(), 0);
        List<BlockRef> refs = new ArrayList<>(tasks.size());
        ctx.pipeline().submit(tasks, 0, results -> {
            for (BlockResult r : results) {
                refs.add(new BlockRef(r.offset() - origin, new dev.coffer.catalog.Block(r.hash().sha256(),
                        r.hash().md5(), r.length())));
            }
        });
        ctx.pipeline().finish();
        ctx.catalog().recordRegion(ctx.backupId(), diskId, origin, length, kind, refs);
        log.debug("region done disk={} kind={} bytes={}", diskId, kind, ranges.total());
        return 1;
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
