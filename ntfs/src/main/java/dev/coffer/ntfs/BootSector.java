package dev.coffer.ntfs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The NTFS boot sector (sector 0 of the volume), after the layout documented in the Linux-NTFS
 * project's NTFS documentation and [MS-FSCC]: BIOS parameter block plus the NTFS extension.
 * Cluster sizes from 512 B to 2 MiB (the "sectors per cluster" byte encodes 2^n as 256-n above 128);
 * MFT record and index block sizes are clusters when positive and 2^-n bytes when negative.
 */
record BootSector(int sectorSize, int clusterSize, long totalSectors, long mftLcn, long mftMirrorLcn,
        int mftRecordSize, int indexBlockSize, long serial) {
    static final int SIZE = 512;
    static final long OEM_NTFS = 0x202020205346544EL; // "NTFS    "
    static final int OFF_OEM = 0x03;
    static final int OFF_BYTES_PER_SECTOR = 0x0B;
    static final int OFF_SECTORS_PER_CLUSTER = 0x0D;
    static final int OFF_TOTAL_SECTORS = 0x28;
    static final int OFF_MFT_LCN = 0x30;
    static final int OFF_MFTMIRR_LCN = 0x38;
    static final int OFF_CLUSTERS_PER_MFT_RECORD = 0x40;
    static final int OFF_CLUSTERS_PER_INDEX_BLOCK = 0x44;
    static final int OFF_SERIAL = 0x48;
    static final int OFF_SIGNATURE = 0x1FE;
    /** Largest cluster Windows formats (2 MiB, Windows 10 1709+). */
    static final int MAX_CLUSTER_SIZE = 2 * 1024 * 1024;
    /** MFT records are 1 KiB or 4 KiB in practice; 64 KiB bounds the allocation per record. */
    static final int MAX_RECORD_SIZE = 64 * 1024;
    /** Index blocks are 4 KiB in practice; 64 KiB bounds the allocation per block. */
    static final int MAX_INDEX_BLOCK_SIZE = 64 * 1024;

    static BootSector parse(ByteBuffer raw, long at) throws CorruptNtfsException {
        ByteBuffer b = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
        String where = "boot sector at " + Checks.hex(at);
        if (b.remaining() < SIZE) {
            throw new CorruptNtfsException(where + ": expected " + SIZE + " bytes, found " + b.remaining());
        }
        if (b.getLong(OFF_OEM) != OEM_NTFS) {
            throw new CorruptNtfsException(where + ": not NTFS, expected OEM id \"NTFS    \" at 0x3, found "
                    + Checks.hex(b.getLong(OFF_OEM)));
        }
        if (Short.toUnsignedInt(b.getShort(OFF_SIGNATURE)) != 0xAA55) {
            throw new CorruptNtfsException(where + ": expected signature 0xaa55 at 0x1fe, found "
                    + Checks.hex(Short.toUnsignedInt(b.getShort(OFF_SIGNATURE))));
        }
        int sector = Short.toUnsignedInt(b.getShort(OFF_BYTES_PER_SECTOR));
        if (sector < 256 || sector > 4096 || Integer.bitCount(sector) != 1) {
            throw new CorruptNtfsException(where + ": bytes per sector at 0xb expected a power of two 256..4096, found " + sector);
        }
        int spcRaw = Byte.toUnsignedInt(b.get(OFF_SECTORS_PER_CLUSTER));
        long spc;
        if (spcRaw > 0x80) {
            spc = 1L << Checks.range(256 - spcRaw, 0, 31, where + " 0xd", "sectors per cluster exponent");
        } else if (spcRaw > 0 && Integer.bitCount(spcRaw) == 1) {
            spc = spcRaw;
        } else {
            throw new CorruptNtfsException(where + ": sectors per cluster at 0xd expected a power of two, found " + spcRaw);
        }
        long cluster = spc * sector;
        Checks.range(cluster, sector, MAX_CLUSTER_SIZE, where + " 0xd", "cluster size");
        long total = b.getLong(OFF_TOTAL_SECTORS);
        Checks.range(total, 1, Long.MAX_VALUE / sector, where + " 0x28", "total sectors");
        long clusters = total * sector / cluster;
        long mft = Checks.range(b.getLong(OFF_MFT_LCN), 0, clusters - 1, where + " 0x30", "MFT lcn");
        long mirr = b.getLong(OFF_MFTMIRR_LCN);
        int recSize = encodedSize(b.get(OFF_CLUSTERS_PER_MFT_RECORD), (int) cluster, where + " 0x40", "MFT record size");
        Checks.range(recSize, Math.max(512, sector), MAX_RECORD_SIZE, where + " 0x40", "MFT record size");
        int idxSize = encodedSize(b.get(OFF_CLUSTERS_PER_INDEX_BLOCK), (int) cluster, where + " 0x44", "index block size");
        Checks.range(idxSize, 512, MAX_INDEX_BLOCK_SIZE, where + " 0x44", "index block size");
        return new BootSector(sector, (int) cluster, total, mft, mirr, recSize, idxSize, b.getLong(OFF_SERIAL));
    }

    /** Decodes the signed "clusters per X" byte: n > 0 is n clusters, n < 0 is 2^-n bytes. */
    private static int encodedSize(byte v, int cluster, String where, String what) throws CorruptNtfsException {
        if (v > 0) {
            long size = (long) v * cluster;
            return (int) Math.min(size, Integer.MAX_VALUE);
        }
        int shift = -v;
        Checks.range(shift, 9, 24, where, what + " exponent");
        return 1 << shift;
    }

    long totalClusters() {
        return totalSectors * sectorSize / clusterSize;
    }
}
