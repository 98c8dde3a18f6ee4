package dev.coffer.agent.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link Job#awaitEnd}: what {@code GET /v1/jobs/{id}?wait=MS} holds a request on. */
class JobWaitTest {
    private static Job job() {
        return new Job("r-1", 1, new Job.Spec(Job.Kind.RESTORE, "api", "ds", Path.of("/ds/vm"), "api", null, 50,
                "latest:/x", "/tmp/to", null, false), Instant.now());
    }

    @Test
    void returnsWhenTheJobEnds_notAtTheDeadline() throws Exception {
        Job j = job();
        CompletableFuture<Boolean> waited = CompletableFuture.supplyAsync(() -> {
            try {
                return j.awaitEnd(30_000);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(50);
        j.started(Instant.now());
        Thread.sleep(50);
        assertThat(waited).as("a start is a change, not an end").isNotDone();
        long t0 = System.nanoTime();
        j.ended(Job.State.COMPLETE, Instant.now(), null, 0, Map.of());
        assertThat(waited.get(5, TimeUnit.SECONDS)).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void givesUpAtTheDeadline_andAnEndedJobAnswersAtOnce() throws Exception {
        Job j = job();
        long t0 = System.nanoTime();
        assertThat(j.awaitEnd(150)).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(150));
        j.state(Job.State.WAITING_FOR_DESTINATION, "down");
        assertThat(j.awaitEnd(0)).isFalse();
        j.ended(Job.State.FAILED, Instant.now(), "gone", 0, Map.of());
        t0 = System.nanoTime();
        assertThat(j.awaitEnd(60_000)).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
    }
}
