package dev.coffer.ntfs;

import java.util.ArrayList;
import java.util.List;

/**
 * Decodes an NTFS mapping pairs array (run list): each run is a header byte (low nibble = size of
 * the length field, high nibble = size of the signed lcn delta, 0 = sparse), the length, then the
 * lcn relative to the previous run's lcn (so it may be negative). A 0 header ends the list.
 */
final class RunList {
    private RunList() {}

    /**
     * Decodes the run list in {@code b[off..end)} for the extent starting at {@code startVcn} and
     * ending at {@code lastVcn} (inclusive), checking every run lies inside the volume's
     * {@code totalClusters}. {@code where} names the attribute in messages.
     */
    static List<Run> decode(byte[] b, int off, int end, long startVcn, long lastVcn, long totalClusters,
            Object where) throws CorruptNtfsException {
        List<Run> runs = new ArrayList<>();
        long vcn = startVcn;
        long lcn = 0;
        int p = off;
        while (p < end) {
            int h = b[p] & 0xFF;
            if (h == 0) {
                break;
            }
            int lenBytes = h & 0x0F;
            int offBytes = h >>> 4;
            if (lenBytes == 0 || lenBytes > 8 || offBytes > 8) {
                throw new CorruptNtfsException(where + ": run header at +" + Checks.hex(p - off)
                        + " invalid, found " + String.format("0x%02x", h));
            }
            if (p + 1 + lenBytes + offBytes > end) {
                throw new CorruptNtfsException(where + ": run at +" + Checks.hex(p - off)
                        + " runs past the end of the run list");
            }
            long length = signed(b, p + 1, lenBytes);
            if (length <= 0) {
                throw new CorruptNtfsException(where + ": run at +" + Checks.hex(p - off)
                        + " length expected > 0, found " + length);
            }
            long runLcn;
            if (offBytes == 0) {
                runLcn = Run.SPARSE;
            } else {
                lcn += signed(b, p + 1 + lenBytes, offBytes);
                if (lcn < 0 || lcn >= totalClusters || length > totalClusters - lcn) {
                    throw new CorruptNtfsException(where + ": run at +" + Checks.hex(p - off) + " (lcn " + lcn
                            + ", " + length + " clusters) lies past the volume's " + totalClusters + " clusters");
                }
                runLcn = lcn;
            }
            if (length > lastVcn + 1 - vcn) {
                throw new CorruptNtfsException(where + ": runs cover more than vcn " + startVcn + ".." + lastVcn
                        + " (run at +" + Checks.hex(p - off) + " ends at vcn " + (vcn + length - 1) + ")");
            }
            runs.add(new Run(vcn, runLcn, length));
            vcn += length;
            p += 1 + lenBytes + offBytes;
        }
        if (vcn != lastVcn + 1) {
            throw new CorruptNtfsException(where + ": run list covers vcn " + startVcn + ".." + (vcn - 1)
                    + ", expected " + startVcn + ".." + lastVcn);
        }
        return runs;
    }

    private static long signed(byte[] b, int i, int n) {
        long v = 0;
        for (int k = n - 1; k >= 0; k--) {
            v = (v << 8) | (b[i + k] & 0xFF);
        }
        int shift = 64 - 8 * n;
        return shift == 0 ? v : (v << shift) >> shift;
    }
}
