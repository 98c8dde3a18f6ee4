package dev.coffer.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A restore job keeps at most 10,000 per-file results, failures and renames first, and says how many it left out. */
class RestoreResultsTest {
    private static Map<String, Object> result(int n, int failedAtEnd) {
        List<Map<String, Object>> results = new ArrayList<>();
        List<String> renamed = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Map<String, Object> m = new LinkedHashMap<>();
            boolean failed = i >= n - failedAtEnd;
            m.put("file", String.format("f%06d", i));
            m.put("ok", !failed);
            m.put("outcome", failed ? "failed" : i == n - failedAtEnd - 1 ? "renamed" : "written");
            results.add(m);
        }
        renamed.add("f renamed");
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("renamed", renamed);
        res.put("results", results);
        return res;
    }

    @Test
    @SuppressWarnings("unchecked")
    void limitResults_keepsFailuresAndRenamesFirst_inNameOrder() {
        Map<String, Object> res = result(AgentDaemon.MAX_RESULTS + 5, 3);
        AgentDaemon.limitResults(res);
        List<Map<String, Object>> kept = (List<Map<String, Object>>) res.get("results");
        assertThat(kept).hasSize(AgentDaemon.MAX_RESULTS);
        assertThat(res.get("resultsOmitted")).isEqualTo(5);
        assertThat(kept.stream().filter(m -> !(Boolean) m.get("ok"))).hasSize(3);
        assertThat(kept.stream().filter(m -> m.get("outcome").equals("renamed"))).hasSize(1);
        assertThat(kept).extracting(m -> (String) m.get("file")).isSorted();
        assertThat(res).doesNotContainKey("renamedOmitted");
    }

    @Test
    void limitResults_leavesASmallRestoreAlone() {
        Map<String, Object> res = result(20, 2);
        Map<String, Object> before = new LinkedHashMap<>(res);
        AgentDaemon.limitResults(res);
        assertThat(res).isEqualTo(before).doesNotContainKey("resultsOmitted");
    }
}
