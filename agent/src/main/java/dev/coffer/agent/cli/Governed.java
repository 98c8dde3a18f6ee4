package dev.coffer.agent.cli;

import dev.coffer.agent.backup.ReadThrottle;
import dev.coffer.agent.load.DeviceResolver;
import dev.coffer.agent.load.IoGovernor;
import dev.coffer.agent.load.IoGovernorOptions;
import dev.coffer.agent.load.IoScheduler;
import dev.coffer.agent.load.MonotonicClock;
import dev.coffer.agent.load.ProcLoadProbe;
import java.io.IOException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The load-aware pacing of one CLI backup: a governor over the devices under the datastore and a
 * scheduler job for this backup. Where the devices cannot be found (a tmpfs, a container) the
 * governor still follows PSI; where nothing can be measured the backup reads unpaced, with a warning.
 */
final class Governed implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Governed.class);

    private final IoGovernor governor;
    private final IoScheduler.Job job;

    private Governed(IoGovernor governor, IoScheduler.Job job) {
        this.governor = governor;
        this.job = job;
    }

    static Governed start(Path datastore, boolean off, String jobName) {
        if (off) {
            return new Governed(null, null);
        }
        try {
            MonotonicClock clock = MonotonicClock.system();
            IoGovernor g = new IoGovernor(IoGovernorOptions.defaults(),
                    ProcLoadProbe.forDevices(DeviceResolver.system().resolve(datastore), clock), clock);
            g.start();
            return new Governed(g, new IoScheduler(g).register(jobName, 50));
        } catch (IOException | RuntimeException e) {
            log.warn("load-aware pacing unavailable for {} ({}); reading unpaced", datastore, e.getMessage());
            return new Governed(null, null);
        }
    }

    ReadThrottle throttle() {
        return job == null ? ReadThrottle.NONE : job::acquire;
    }

    @Override
    public void close() {
        if (job != null) {
            job.close();
        }
        if (governor != null) {
            governor.close();
        }
    }
}
