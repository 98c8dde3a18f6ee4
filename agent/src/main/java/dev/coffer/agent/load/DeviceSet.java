package dev.coffer.agent.load;

import java.nio.file.Path;
import java.util.List;

/**
 * The physical block devices under one datastore, as found by {@link DeviceResolver}.
 *
 * @param datastore the datastore path as given
 * @param mountPoint the mount point that holds it
 * @param fsType the filesystem type of that mount
 * @param devices the physical (whole-disk) devices; empty when the filesystem has none
 *     (tmpfs, overlay, NFS) and the scheduler must rely on pressure-stall information alone
 * @param note how the devices were found, or why there are none; shown in decisions and logs
 */
public record DeviceSet(Path datastore, String mountPoint, String fsType, List<BlockDevice> devices,
        String note) {
    /** A defensive copy of the device list. */
    public DeviceSet {
        devices = List.copyOf(devices);
    }

    /** True when there is no block device to watch, so only PSI can show the load. */
    public boolean psiOnly() {
        return devices.isEmpty();
    }
}
