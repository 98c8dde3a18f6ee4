package dev.coffer.agent.load;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link LoadProbe} over the union of the block devices under several datastores: the daemon's one
 * governor watches every disk any configured datastore lives on (the datastores share the
 * controller's disks and its backups share one read budget), and {@link #watch} re-resolves them when
 * the config changes. Each datastore is resolved by {@link DeviceResolver}; a device under several is
 * watched once. Sampling is delegated to a {@link ProcLoadProbe} over the current union, swapped
 * atomically by {@code watch}; like that probe, {@link #sample()} is for the one governor thread.
 */
public final class DatastoresProbe implements LoadProbe {
    /** Devices watched at most, over all datastores: the same cap as one datastore's ({@link DeviceResolver}). */
    static final int MAX_DEVICES = DeviceResolver.MAX_DEVICES;

    /**
     * What is being watched.
     *
     * @param devices the union of the datastores' devices, each once, in datastore order; empty = PSI only
     * @param sets how each datastore resolved
     * @param failures the datastores that could not be resolved, with why (they add no device)
     */
    public record Watch(List<BlockDevice> devices, List<DeviceSet> sets, List<String> failures) {
        /** Defensive copies. */
        public Watch {
            devices = List.copyOf(devices);
            sets = List.copyOf(sets);
            failures = List.copyOf(failures);
        }

        /** True when no datastore has a block device, so only PSI shows the load. */
        public boolean psiOnly() {
            return devices.isEmpty();
        }
    }

    private final DeviceResolver resolver;
    private final Path proc;
    private final MonotonicClock clock;
    private volatile ProcLoadProbe current;
    private volatile Watch watching = new Watch(List.of(), List.of(), List.of());

    /**
     * @param resolver finds each datastore's devices
     * @param proc the proc root ({@code /proc}; tests pass captured files)
     * @param clock the time source of sample intervals
     */
    public DatastoresProbe(DeviceResolver resolver, Path proc, MonotonicClock clock) {
        this.resolver = resolver;
        this.proc = proc;
        this.clock = clock;
    }

    /** A probe of this machine's {@code /proc} and {@code /sys}. */
    public static DatastoresProbe system(MonotonicClock clock) {
        return new DatastoresProbe(DeviceResolver.system(), Path.of("/proc"), clock);
    }

    /**
     * Resolves {@code datastores} and watches the union of their devices from now on (the next sample's
     * interval starts now). A datastore that cannot be resolved is named in {@link Watch#failures()}
     * and adds nothing; the others are still watched.
     *
     * @throws IOException when {@code diskstats} cannot be read, or the union exceeds {@link #MAX_DEVICES}
     */
    public synchronized Watch watch(List<Path> datastores) throws IOException {
        Map<String, BlockDevice> union = new LinkedHashMap<>();
        List<DeviceSet> sets = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (Path ds : datastores) {
            DeviceSet s;
            try {
                s = resolver.resolve(ds);
            } catch (IOException e) {
                failures.add(ds + ": " + e.getMessage());
                continue;
            }
            sets.add(s);
            for (BlockDevice d : s.devices()) {
                union.putIfAbsent(d.devNo(), d);
            }
            if (union.size() > MAX_DEVICES) {
                throw new LoadProbeException("more than " + MAX_DEVICES + " devices under the datastores up to " + ds);
            }
        }
        ProcLoadProbe next = new ProcLoadProbe(proc, List.copyOf(union.values()), clock);
        Watch w = new Watch(List.copyOf(union.values()), sets, failures);
        current = next;
        watching = w;
        return w;
    }

    /** What is watched now. */
    public Watch watching() {
        return watching;
    }

    @Override
    public LoadSample sample() throws IOException {
        ProcLoadProbe p = current;
        if (p == null) {
            throw new LoadProbeException("no datastore watched yet (call watch first)");
        }
        return p.sample();
    }
}
