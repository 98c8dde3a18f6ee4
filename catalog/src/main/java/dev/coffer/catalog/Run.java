package dev.coffer.catalog;

/**
 * One cluster run of an NTFS stream, in stream order: {@code clusterCount} clusters starting at logical
 * cluster number {@code lcn}, or a sparse hole when {@code lcn} is {@link #SPARSE}.
 */
public record Run(long lcn, long clusterCount) {
    /** The lcn of a sparse run (no clusters allocated). */
    public static final long SPARSE = -1;

    public Run {
        if (lcn < SPARSE || clusterCount <= 0) {
            throw new IllegalArgumentException("run lcn=" + lcn + " clusters=" + clusterCount);
        }
    }
}
