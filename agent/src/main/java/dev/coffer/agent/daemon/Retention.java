package dev.coffer.agent.daemon;

import dev.coffer.agent.config.AgentConfig;
import dev.coffer.catalog.BackupInfo;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * Which restore points a retention rule keeps. The algorithm (documented in {@code docs/operations.md},
 * "The daemon"): take the complete backups of one VM made by one policy, newest first (by start time,
 * then id). {@code last N} keeps the first N. For each of daily/weekly/monthly/yearly with count N,
 * walk the list newest first and keep a backup when its period (calendar day; ISO week; month; year,
 * all in the controller's time zone) differs from the period of the last backup this rule kept,
 * until N are kept: so the newest backup of each of the N most recent periods that have one. A backup
 * kept by any rule is kept; the newest is always kept. Everything else is pruned.
 */
final class Retention {
    private Retention() {}

    /** The backups of {@code backups} to prune under {@code r}; {@code backups} in any order. */
    static List<BackupInfo> toPrune(List<BackupInfo> backups, AgentConfig.Retention r, ZoneId zone) {
        List<BackupInfo> sorted = new ArrayList<>(backups);
        sorted.sort(Comparator.comparing(BackupInfo::started).thenComparingLong(BackupInfo::id).reversed());
        Set<Long> keep = new LinkedHashSet<>();
        if (!sorted.isEmpty()) {
            keep.add(sorted.get(0).id());
        }
        for (int i = 0; i < Math.min(r.last(), sorted.size()); i++) {
            keep.add(sorted.get(i).id());
        }
        bucket(sorted, r.daily(), keep, z -> z.toLocalDate().toString(), zone);
        bucket(sorted, r.weekly(), keep, z -> z.get(IsoFields.WEEK_BASED_YEAR) + "-W" + z.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR), zone);
        bucket(sorted, r.monthly(), keep, z -> z.getYear() + "-" + z.getMonthValue(), zone);
        bucket(sorted, r.yearly(), keep, z -> Integer.toString(z.getYear()), zone);
        List<BackupInfo> prune = new ArrayList<>();
        for (BackupInfo b : sorted) {
            if (!keep.contains(b.id())) {
                prune.add(b);
            }
        }
        return prune;
    }

    private static void bucket(List<BackupInfo> newestFirst, int count, Set<Long> keep,
            Function<ZonedDateTime, String> period, ZoneId zone) {
        String last = null;
        int kept = 0;
        for (BackupInfo b : newestFirst) {
            if (kept >= count) {
                return;
            }
            String p = period.apply(b.started().atZone(zone));
            if (!p.equals(last)) {
                keep.add(b.id());
                last = p;
                kept++;
            }
        }
    }
}
