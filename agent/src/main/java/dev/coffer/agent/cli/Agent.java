package dev.coffer.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.agent.api.ApiClient;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the CLI commands share when they talk to the running agent instead of opening the catalog
 * themselves: requests whose non-2xx answers become the agent's one-line error, query strings, and
 * following a job (backup or restore) with the same progress line as local work.
 */
public final class Agent {
    /** How often a followed job is polled: the progress line redraws every 200 ms, so 250 ms looks live. */
    static final long POLL_MILLIS = 250;

    private Agent() {}

    /** GET {@code target}; an answer other than 200 is an IOException carrying the agent's error message. */
    public static JsonNode get(ApiClient api, String target) throws IOException {
        return checked(api.get(target), 200);
    }

    /** POST JSON to {@code target}, expecting 202 Accepted; otherwise an IOException with the agent's message. */
    public static JsonNode post(ApiClient api, String target, Object body) throws IOException {
        String text;
        try {
            text = PlainJson.text(body); // the usual body, a map of plain values: no object mapper
        } catch (IllegalArgumentException notPlain) {
            text = Json.mapper().writeValueAsString(body);
        }
        return checked(api.post(target, text), 202);
    }

    private static JsonNode checked(ApiClient.Response r, int expected) throws IOException {
        if (r.status() == expected) {
            return r.json();
        }
        String msg;
        try {
            JsonNode e = r.json();
            msg = e.hasNonNull("error") ? e.get("error").asText() : r.text().strip();
        } catch (IOException notJson) {
            msg = "HTTP " + r.status() + ": " + r.text().strip();
        }
        throw new IOException(msg);
    }

    /** {@code ?k1=v1&k2=v2} from name/value pairs, percent-encoded; null values are left out. */
    public static String query(String... nameValues) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i + 1 < nameValues.length; i += 2) {
            if (nameValues[i + 1] == null) {
                continue;
            }
            sb.append(sb.length() == 0 ? '?' : '&').append(nameValues[i]).append('=')
                    .append(URLEncoder.encode(nameValues[i + 1], StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    /** A text field, or null when absent or JSON null. */
    public static String text(JsonNode n, String key) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? null : v.asText();
    }

    /** What a progress line shows of a job's view. */
    public interface ProgressOf {
        /** The line's figures from the job's latest view. */
        Progress.Snapshot of(JsonNode job);
    }

    /**
     * Polls job {@code id} until it is over, drawing the progress line {@code label} (on a terminal)
     * from each view; returns the last view. SIGINT while waiting leaves the job running in the agent.
     */
    public static JsonNode follow(ApiClient api, String id, String label, ProgressOf progress)
            throws IOException, InterruptedException {
        AtomicReference<Progress.Snapshot> last = new AtomicReference<>(new Progress.Snapshot(0, 0, ""));
        try (Progress p = Progress.start(label, last::get)) {
            return api.awaitJob(id, POLL_MILLIS, j -> last.set(progress.of(j)));
        }
    }
}
