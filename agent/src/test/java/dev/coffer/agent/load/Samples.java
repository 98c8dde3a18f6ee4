package dev.coffer.agent.load;

import java.time.Instant;
import java.util.List;

/** Builds synthetic {@link LoadSample}s for the control-law tests. */
final class Samples {
    private Samples() {}

    /** A period of {@code ms} on one device with the given reads and writes. */
    static LoadSample disk(long ms, long readIos, long readBytes, double readAwaitMs, long writeIos,
            double cpuSome) {
        long interval = ms * 1_000_000L;
        long rTicks = Math.round(readAwaitMs * readIos);
        DeviceLoad d = new DeviceLoad("vdx", readIos, writeIos, readBytes, writeIos * 4096, rTicks,
                writeIos, readIos > 0 ? 50 : 0, 1, readIos == 0 ? 0 : (double) rTicks / readIos,
                writeIos == 0 ? 0 : 1);
        return new LoadSample(Instant.EPOCH, interval, List.of(d), PressureDelta.ABSENT,
                new PressureDelta(true, 0, 0, (long) (cpuSome * interval / 1000), 0), "");
    }

    /** A quiet period: nothing but the backup's {@code backupBytes} in requests of {@code req}. */
    static LoadSample quiet(long ms, long backupBytes, long req) {
        long ios = backupBytes / req;
        return disk(ms, ios, backupBytes, 2.0, 0, 0);
    }

    /** A period with {@code fgIops} foreground 4 KiB reads at {@code awaitMs}, plus the backup's bytes. */
    static LoadSample foreground(long ms, double fgIops, double awaitMs, long backupBytes, long req) {
        long fgIos = Math.round(fgIops * ms / 1000.0);
        long bIos = backupBytes / req;
        return disk(ms, fgIos + bIos, fgIos * 4096 + backupBytes, awaitMs, 0, 0);
    }

    /** A period on a datastore without block devices: PSI only. */
    static LoadSample psiOnly(long ms, double ioSome) {
        long interval = ms * 1_000_000L;
        return new LoadSample(Instant.EPOCH, interval, List.of(),
                new PressureDelta(true, 0, 0, (long) (ioSome * interval / 1000), 0),
                new PressureDelta(true, 0, 0, 0, 0), "");
    }

    /** {@code s} with the process's own storage reads set to {@code ownReadBytes}. */
    static LoadSample withOwn(LoadSample s, long ownReadBytes) {
        return new LoadSample(s.at(), s.intervalNanos(), s.devices(), s.io(), s.cpu(), s.note(),
                ownReadBytes);
    }
}
