package dev.coffer.catalog;

import java.util.List;

/** A registered virtual disk: its controller slot ("scsi0:0"), the leaf VMDK path, the chain of VMDK file names (base first) and capacity in bytes. */
public record DiskInfo(long id, long vmId, String slot, String filePath, List<String> chain, long capacityBytes) {}
