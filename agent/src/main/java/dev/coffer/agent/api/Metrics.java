package dev.coffer.agent.api;

import dev.coffer.agent.daemon.AgentDaemon;
import dev.coffer.agent.daemon.Job;
import dev.coffer.agent.load.Decision;
import dev.coffer.agent.load.IoGovernor;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToDoubleFunction;

/**
 * The daemon's Prometheus metrics (names and meanings in {@code docs/api.md}): jobs by state, bytes
 * read/carried/new/sent, dedup ratio, backups by outcome, destination state and retries, and the load
 * governor's rate, cap and signals. Values are read when scraped; nothing is sampled in between.
 */
final class Metrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AgentDaemon daemon;

    Metrics(AgentDaemon daemon, ImageStreams streams) {
        this.daemon = daemon;
        AgentDaemon.Totals t = daemon.totals;
        Gauge.builder("coffer.image.streams.active", streams.active, AtomicLong::get)
                .description("disk images being streamed now").register(registry);
        counter("coffer.image.stream.bytes", streams.bytesSent, "disk image bytes handed to the network");
        counter("coffer.image.streams.aborted", streams.aborted, "image streams ended early (client gone, stalled, failed)");
        Gauge.builder("coffer.image.stream.pending.max.bytes", streams.maxPendingBytes, AtomicLong::get)
                .description("most bytes an image stream ever had waiting for a client").register(registry);
        for (Job.State s : Job.State.values()) {
            Gauge.builder("coffer.jobs", daemon, d -> d.jobs().stream().filter(j -> j.state() == s).count())
                    .tag("state", s.json()).description("jobs the daemon knows, by state").register(registry);
        }
        counter("coffer.read.bytes", t.bytesRead, "bytes read from disks by finished backups");
        counter("coffer.carried.bytes", t.bytesCarried, "bytes of unchanged files carried forward without reading");
        counter("coffer.new.bytes", t.bytesNew, "bytes of blocks the destination did not have");
        counter("coffer.sent.bytes", t.bytesSent, "bytes sent to the destination after compression");
        counter("coffer.destination.retries", t.destinationRetries, "job attempts put off because the destination failed");
        counter("coffer.pruned.backups", t.backupsPruned, "backups pruned by retention");
        counter("coffer.restores", t.restoresDone, "restores finished");
        counter("coffer.reloads", t.reloads, "config reloads applied");
        counter("coffer.reloads.rejected", t.reloadsRejected, "config reloads rejected (old config kept)");
        FunctionCounter.builder("coffer.backups", t.backupsComplete, AtomicLong::get).tag("outcome", "complete")
                .description("backups finished, by outcome").register(registry);
        FunctionCounter.builder("coffer.backups", t.backupsPartial, AtomicLong::get).tag("outcome", "partial").register(registry);
        FunctionCounter.builder("coffer.backups", t.backupsFailed, AtomicLong::get).tag("outcome", "failed").register(registry);
        Gauge.builder("coffer.dedup.ratio", t, x -> {
            double covered = x.bytesRead.get() + x.bytesCarried.get();
            return x.bytesNew.get() == 0 ? (covered == 0 ? 1 : covered) : covered / x.bytesNew.get();
        }).description("bytes backed up (read + carried) per new byte").register(registry);
        Gauge.builder("coffer.running.read.bytes", daemon, d -> d.jobs().stream()
                .filter(j -> j.state() == Job.State.RUNNING).mapToLong(Job::bytesRead).sum())
                .description("bytes read so far by running backups").register(registry);
        Gauge.builder("coffer.destination.up", daemon, d -> Boolean.TRUE.equals(d.destinationStatus().get("connected")) ? 1 : 0)
                .description("1 when the destination is connected").register(registry);
        governor("coffer.throttle.rate.bytes.per.second", g -> g.rateBytesPerSecond(), "the load governor's backup read rate");
        governor("coffer.throttle.cap.bytes.per.second", g -> g.capBytesPerSecond(), "the configured read cap (0 none)");
        governor("coffer.load.foreground.active", g -> g.foregroundActive() ? 1 : 0, "1 while the controller's own I/O is present");
        signal("coffer.load.read.await.ms", s -> s.readAwaitMs(), "read await of the datastore's devices");
        signal("coffer.load.write.await.ms", s -> s.writeAwaitMs(), "write await of the datastore's devices");
        signal("coffer.load.utilisation.percent", s -> s.utilisationPercent(), "device utilisation");
        signal("coffer.load.queue.depth", s -> s.queueDepth(), "average device queue depth");
        signal("coffer.load.io.some.share", s -> s.ioSomeShare(), "PSI io some share of the last period");
        signal("coffer.load.cpu.some.share", s -> s.cpuSomeShare(), "PSI cpu some share of the last period");
    }

    private void counter(String name, AtomicLong v, String help) {
        FunctionCounter.builder(name, v, AtomicLong::get).description(help).register(registry);
    }

    private void governor(String name, ToDoubleFunction<IoGovernor> f, String help) {
        Gauge.builder(name, daemon, d -> d.governor() == null ? Double.NaN : f.applyAsDouble(d.governor()))
                .description(help).register(registry);
    }

    private void signal(String name, ToDoubleFunction<Decision.Signals> f, String help) {
        Gauge.builder(name, daemon, d -> {
            IoGovernor g = d.governor();
            Decision dec = g == null ? null : g.decision();
            return dec == null || dec.signals() == null ? Double.NaN : f.applyAsDouble(dec.signals());
        }).description(help).register(registry);
    }

    /** The Prometheus text exposition of every metric. */
    String scrape() {
        return registry.scrape();
    }
}
