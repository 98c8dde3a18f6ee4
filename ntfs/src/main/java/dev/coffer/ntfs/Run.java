package dev.coffer.ntfs;

/**
 * One run of a non-resident stream: {@code clusterCount} clusters starting at virtual cluster
 * number {@code vcn} (cluster index within the stream) stored at logical cluster number
 * {@code lcn} (cluster index within the volume), or a sparse hole when {@code lcn == -1}.
 */
public record Run(long vcn, long lcn, long clusterCount) {
    /** The lcn of a sparse run (a hole that reads as zeros and occupies no clusters). */
    public static final long SPARSE = -1;

    /** True when this run is a hole. */
    public boolean sparse() {
        return lcn == SPARSE;
    }
}
