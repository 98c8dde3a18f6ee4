package dev.coffer.agent.backup;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A sorted set of disjoint half-open ranges {@code [start, end)} of longs (clusters or bytes), with
 * the set operations the planner needs. Immutable; built from unsorted, overlapping input.
 */
final class Extents {
    /** Interleaved start/end pairs, sorted, disjoint, non-adjacent. */
    private final long[] se;

    private Extents(long[] se) {
        this.se = se;
    }

    static final Extents EMPTY = new Extents(new long[0]);

    /** Builds from any ranges (start, length); empty ranges are ignored, overlaps merged. */
    static Extents of(List<long[]> startLength) {
        long[][] r = startLength.stream().filter(a -> a[1] > 0).map(a -> new long[] {a[0], a[0] + a[1]})
                .sorted((a, b) -> Long.compare(a[0], b[0])).toArray(long[][]::new);
        long[] out = new long[r.length * 2];
        int n = 0;
        for (long[] x : r) {
            if (n > 0 && x[0] <= out[n - 1]) {
                out[n - 1] = Math.max(out[n - 1], x[1]);
            } else {
                out[n++] = x[0];
                out[n++] = x[1];
            }
        }
        return new Extents(Arrays.copyOf(out, n));
    }

    /** One range. */
    static Extents range(long start, long end) {
        return end > start ? new Extents(new long[] {start, end}) : EMPTY;
    }

    /** The ranges in this set not in {@code other}. */
    Extents minus(Extents other) {
        List<long[]> out = new ArrayList<>();
        int j = 0;
        for (int i = 0; i < se.length; i += 2) {
            long s = se[i];
            long e = se[i + 1];
            while (j < other.se.length && other.se[j + 1] <= s) {
                j += 2;
            }
            int k = j;
            while (s < e && k < other.se.length && other.se[k] < e) {
                if (other.se[k] > s) {
                    out.add(new long[] {s, other.se[k] - s});
                }
                s = Math.max(s, other.se[k + 1]);
                k += 2;
            }
            if (s < e) {
                out.add(new long[] {s, e - s});
            }
        }
        return of(out);
    }

    /** The ranges in both sets. */
    Extents intersect(Extents other) {
        List<long[]> out = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < se.length && j < other.se.length) {
            long s = Math.max(se[i], other.se[j]);
            long e = Math.min(se[i + 1], other.se[j + 1]);
            if (s < e) {
                out.add(new long[] {s, e - s});
            }
            if (se[i + 1] < other.se[j + 1]) {
                i += 2;
            } else {
                j += 2;
            }
        }
        return of(out);
    }

    /** Every value multiplied by {@code factor} and shifted by {@code shift} (clusters to bytes). */
    Extents scale(long factor, long shift) {
        long[] out = new long[se.length];
        for (int i = 0; i < se.length; i++) {
            out[i] = Math.addExact(Math.multiplyExact(se[i], factor), shift);
        }
        return new Extents(out);
    }

    int size() {
        return se.length / 2;
    }

    long start(int i) {
        return se[2 * i];
    }

    long end(int i) {
        return se[2 * i + 1];
    }

    /** The total length of all ranges. */
    long total() {
        long t = 0;
        for (int i = 0; i < se.length; i += 2) {
            t += se[i + 1] - se[i];
        }
        return t;
    }

    boolean isEmpty() {
        return se.length == 0;
    }

    /** Whether any range shares a value with {@code [start, end)}. Binary search: O(log n). */
    boolean overlaps(long start, long end) {
        if (end <= start) {
            return false;
        }
        // the first range whose end is past start
        int lo = 0;
        int hi = size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (end(mid) <= start) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo < size() && start(lo) < end;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < se.length; i += 2) {
            sb.append(i == 0 ? "" : ", ").append(se[i]).append('-').append(se[i + 1]);
        }
        return sb.append(']').toString();
    }
}
