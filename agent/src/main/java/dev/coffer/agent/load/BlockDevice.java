package dev.coffer.agent.load;

/**
 * A whole block device whose {@code /proc/diskstats} line the scheduler watches.
 *
 * @param name kernel name ({@code vda}, {@code nvme0n1}, {@code sdb})
 * @param major device major number
 * @param minor device minor number
 */
public record BlockDevice(String name, int major, int minor) {
    /** The device number as {@code major:minor}. */
    public String devNo() {
        return major + ":" + minor;
    }
}
