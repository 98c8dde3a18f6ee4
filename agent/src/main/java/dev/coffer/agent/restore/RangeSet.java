package dev.coffer.agent.restore;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A set of byte offsets kept as disjoint, non-adjacent ranges (adjacent and overlapping ranges are
 * merged). Not thread-safe: the owner guards it.
 */
final class RangeSet {
    /** start -> end (exclusive); entries never touch or overlap. */
    private final TreeMap<Long, Long> ranges = new TreeMap<>();

    /** Adds {@code [offset, offset + length)}. */
    void add(long offset, long length) {
        if (length <= 0) {
            return;
        }
        long start = offset;
        long end = Math.addExact(offset, length);
        Map.Entry<Long, Long> before = ranges.floorEntry(start);
        if (before != null && before.getValue() >= start) {
            start = before.getKey();
            end = Math.max(end, before.getValue());
        }
        Map.Entry<Long, Long> next = ranges.ceilingEntry(start);
        while (next != null && next.getKey() <= end) {
            end = Math.max(end, next.getValue());
            ranges.remove(next.getKey());
            next = ranges.ceilingEntry(start);
        }
        ranges.put(start, end);
    }

    /** Whether any byte of {@code [offset, offset + length)} is already in the set. */
    boolean overlaps(long offset, long length) {
        if (length <= 0) {
            return false;
        }
        Map.Entry<Long, Long> e = ranges.lowerEntry(offset + length);
        return e != null && e.getValue() > offset;
    }

    /** The end of the range that contains {@code offset}, or {@code offset} when none does. */
    long contiguousEnd(long offset) {
        Map.Entry<Long, Long> e = ranges.floorEntry(offset);
        return e != null && e.getValue() > offset ? e.getValue() : offset;
    }

    /** Whether {@code [0, size)} is wholly covered. */
    boolean covers(long size) {
        return size == 0 || contiguousEnd(0) >= size;
    }

    /** Total bytes covered. */
    long coveredBytes() {
        long n = 0;
        for (Map.Entry<Long, Long> e : ranges.entrySet()) {
            n += e.getValue() - e.getKey();
        }
        return n;
    }

    /** The ranges in offset order. */
    List<ByteRange> toList() {
        List<ByteRange> out = new ArrayList<>(ranges.size());
        for (Map.Entry<Long, Long> e : ranges.entrySet()) {
            out.add(new ByteRange(e.getKey(), e.getValue() - e.getKey()));
        }
        return out;
    }

    /** Removes everything. */
    void clear() {
        ranges.clear();
    }
}
