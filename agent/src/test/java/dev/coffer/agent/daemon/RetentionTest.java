package dev.coffer.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.config.AgentConfig;
import dev.coffer.catalog.BackupInfo;
import dev.coffer.catalog.BackupState;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RetentionTest {
    private static BackupInfo b(long id, String at) {
        return new BackupInfo(id, 1, BackupState.COMPLETE, Instant.parse(at), Instant.parse(at), "live", "p", null, 0, 0, 0, 0);
    }

    private static List<Long> pruned(List<BackupInfo> l, AgentConfig.Retention r) {
        return Retention.toPrune(l, r, ZoneOffset.UTC).stream().map(BackupInfo::id).sorted().toList();
    }

    @Test
    void last_keepsTheNewestN() {
        List<BackupInfo> l = List.of(b(1, "2026-01-01T01:00:00Z"), b(2, "2026-01-01T02:00:00Z"), b(3, "2026-01-01T03:00:00Z"));
        assertThat(pruned(l, new AgentConfig.Retention(2, 0, 0, 0, 0))).containsExactly(1L);
        assertThat(pruned(l, new AgentConfig.Retention(5, 0, 0, 0, 0))).isEmpty();
    }

    @Test
    void daily_keepsTheNewestOfEachOfTheLastNDays() {
        List<BackupInfo> l = new ArrayList<>();
        long id = 1;
        for (int day = 1; day <= 5; day++) {
            for (int hour = 1; hour <= 3; hour++) {
                l.add(b(id++, String.format("2026-03-%02dT%02d:00:00Z", day, hour)));
            }
        }
        // newest of days 5, 4, 3 are ids 15, 12, 9
        List<Long> p = pruned(l, new AgentConfig.Retention(0, 3, 0, 0, 0));
        assertThat(l.stream().map(BackupInfo::id).filter(i -> !p.contains(i)).toList()).containsExactly(9L, 12L, 15L);
    }

    @Test
    void weeklyMonthlyYearly_combineWithLast_andTheNewestIsAlwaysKept() {
        List<BackupInfo> l = List.of(
                b(1, "2024-06-01T00:00:00Z"), b(2, "2024-12-31T00:00:00Z"),
                b(3, "2025-05-01T00:00:00Z"), b(4, "2025-05-20T00:00:00Z"),
                b(5, "2026-01-05T00:00:00Z"), b(6, "2026-01-06T00:00:00Z"), b(7, "2026-01-12T00:00:00Z"));
        // yearly 2: newest of 2026 (7) and of 2025 (4); monthly 2: Jan 2026 (7), May 2025 (4); weekly 2: W03 (7), W02 (6)
        List<Long> p = pruned(l, new AgentConfig.Retention(0, 0, 2, 2, 2));
        assertThat(p).containsExactly(1L, 2L, 3L, 5L);
        assertThat(pruned(l, new AgentConfig.Retention(0, 0, 0, 0, 3))).containsExactly(1L, 3L, 5L, 6L);
        assertThat(pruned(List.of(b(1, "2026-01-01T00:00:00Z")), new AgentConfig.Retention(0, 0, 0, 0, 0))).isEmpty();
    }
}
