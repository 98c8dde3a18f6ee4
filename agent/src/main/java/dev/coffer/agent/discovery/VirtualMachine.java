package dev.coffer.agent.discovery;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A VM as a datastore holds it: its folder, its {@code .vmx}, the disks it has attached now, and the
 * small metadata files kept with every backup so the VM can be registered again after a restore.
 *
 * @param folder the VM's folder inside the datastore
 * @param vmx the configuration file
 * @param displayName {@code displayName}, or the folder name when absent
 * @param uuid {@code uuid.bios} normalised to 32 lowercase hex digits, or empty when absent
 * @param disks attached hard disks in controller order
 * @param metadataFiles {@code .vmx}, {@code .vmsd}, {@code .nvram}, {@code .vmxf}, {@code .ovf} present in the folder
 * @param tags {@code coffer.tag.NAME = "value"} entries of the {@code .vmx}, for policy selection
 */
public record VirtualMachine(
        Path folder,
        Path vmx,
        String displayName,
        String uuid,
        List<VmDisk> disks,
        List<Path> metadataFiles,
        Map<String, String> tags) {

    /**
     * One attached virtual disk.
     *
     * @param slot the controller slot as the {@code .vmx} names it, e.g. {@code scsi0:0}
     * @param leaf the descriptor the VM writes to now (the leaf of its snapshot chain)
     */
    public record VmDisk(String slot, Path leaf) {}
}
