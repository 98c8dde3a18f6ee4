package dev.coffer.vmdk;

/** Every limit the readers enforce on values taken from disk, with where each number comes from. */
final class Limits {
    /** Bytes per sector: every VMDK offset and size field counts 512-byte sectors. */
    static final int SECTOR = 512;
    /**
     * Largest virtual capacity accepted: 64 TiB, the largest VMware writes (seSparse on VMFS 6);
     * hosted sparse and COWD stop at 2 TiB, flat disks at 62 TiB.
     */
    static final long MAX_CAPACITY = 64L << 40;
    /** Largest descriptor read: 1 MiB, as qemu; real ones are under 2 KiB. */
    static final int MAX_DESCRIPTOR_BYTES = 1 << 20;
    /** Most extents in one descriptor: a 62 TiB twoGbMaxExtent disk has ~31,700. */
    static final int MAX_EXTENTS = 65_536;
    /** Largest grain: 1 GiB (0x200000 sectors), the same cap qemu applies; VMware uses 4 KiB..1 MiB. */
    static final long MAX_GRAIN_SECTORS = 0x200000;
    /** Most entries per hosted-sparse grain table: 512, fixed by the VMware spec (qemu caps there too). */
    static final int MAX_GTES_PER_GT = 512;
    /** Entries per COWD (vmfsSparse) grain table: fixed at 4096 by the format. */
    static final int COWD_GTES_PER_GT = 4096;
    /** Most grain-directory entries: 32 Mi, qemu's cap (8 TiB at the smallest grain and table). */
    static final int MAX_GD_ENTRIES = 32 * 1024 * 1024;
    /** Deepest snapshot chain followed: VMware allows 32 snapshots; 255 leaves room for linked clones. */
    static final int MAX_CHAIN_DEPTH = 255;
    /** Bytes of grain tables kept in each extent's cache: 8 MiB covers 256 GiB of 64 KiB grains. */
    static final long GT_CACHE_BYTES = 8L << 20;

    private Limits() {}
}
