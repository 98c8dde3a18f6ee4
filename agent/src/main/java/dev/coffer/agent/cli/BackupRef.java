package dev.coffer.agent.cli;

import dev.coffer.catalog.BackupInfo;
import dev.coffer.catalog.BackupState;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.DiskInfo;
import dev.coffer.catalog.VmInfo;
import dev.coffer.catalog.VolumeInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A backup and a path in it as the CLI names them: {@code [VM@]BACKUP[:PATH]}, where BACKUP is an id
 * or {@code latest} and PATH starts with '/'. The volume is the backup's only NTFS volume unless
 * {@code --volume SLOT/PARTITION} picks one (e.g. {@code scsi0:0/2}).
 *
 * @param backup the backup
 * @param volume the NTFS volume the path is in
 * @param path the path, "/" when none was given
 */
public record BackupRef(BackupInfo backup, VolumeInfo volume, String path) {

    /** Resolves {@code spec}; {@code vm} and {@code volume} are the optional {@code --vm}/{@code --volume}. */
    public static BackupRef resolve(Catalog catalog, String spec, String vm, String volume) throws IOException {
        String rest = spec;
        String vmName = vm;
        int at = rest.indexOf('@');
        int colon = rest.indexOf(':');
        if (at > 0 && (colon < 0 || at < colon)) {
            vmName = rest.substring(0, at);
            rest = rest.substring(at + 1);
            colon = rest.indexOf(':');
        }
        String backupPart = colon < 0 ? rest : rest.substring(0, colon);
        String path = colon < 0 ? "/" : rest.substring(colon + 1);
        if (path.isEmpty()) {
            path = "/";
        }
        if (!path.startsWith("/")) {
            throw new IOException("\"" + spec + "\": the path after ':' must start with '/'");
        }
        BackupInfo b = backup(catalog, backupPart, vmName, spec);
        return new BackupRef(b, volume(catalog, b, volume, spec), normalise(path));
    }

    /** Finds the backup named {@code [VM@]ID|latest}; {@code vm} (from {@code --vm}) applies without a prefix. */
    public static BackupInfo named(Catalog catalog, String spec, String vm) throws IOException {
        int at = spec.indexOf('@');
        return at > 0 ? backup(catalog, spec.substring(at + 1), spec.substring(0, at), spec)
                : backup(catalog, spec, vm, spec);
    }

    /** Finds the backup named by an id or {@code latest} (of {@code vmName}, or of the only VM). */
    public static BackupInfo backup(Catalog catalog, String name, String vmName, String spec) throws IOException {
        if (name.matches("\\d{1,18}")) {
            BackupInfo b = catalog.backup(Long.parseLong(name)).orElseThrow(
                    () -> new IOException("no backup " + name + " in " + catalog.file()));
            if (b.state() != BackupState.COMPLETE) {
                throw new IOException("backup " + name + " is " + b.state().name().toLowerCase(java.util.Locale.ROOT)
                        + ", not complete");
            }
            return b;
        }
        if (!name.equals("latest")) {
            throw new IOException("\"" + spec + "\": a backup is an id or 'latest', found \"" + name + "\"");
        }
        VmInfo vm = vm(catalog, vmName, spec);
        return catalog.latest(vm.id()).orElseThrow(
                () -> new IOException("VM \"" + vm.displayName() + "\" has no complete backup"));
    }

    /** The VM named by display name or folder, or the only VM of the catalog. */
    public static VmInfo vm(Catalog catalog, String vmName, String spec) throws IOException {
        List<VmInfo> vms = catalog.vms();
        if (vmName == null) {
            if (vms.size() == 1) {
                return vms.get(0);
            }
            throw new IOException(vms.isEmpty() ? "the catalog " + catalog.file() + " has no backups"
                    : "\"" + spec + "\": the catalog has " + vms.size() + " VMs; name one as VM@latest or with --vm");
        }
        for (VmInfo v : vms) {
            if (v.displayName().equals(vmName) || v.folder().equals(vmName) || v.uuid().equals(vmName)) {
                return v;
            }
        }
        throw new IOException("no VM named \"" + vmName + "\" in " + catalog.file());
    }

    /** The NTFS volume of backup {@code b} named by {@code SLOT/PARTITION}, or its only one. */
    static VolumeInfo volume(Catalog catalog, BackupInfo b, String volume, String spec) throws IOException {
        List<Long> ingested = catalog.volumesOf(b.id());
        List<VolumeInfo> candidates = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (DiskInfo d : catalog.disks(b.vmId())) {
            for (VolumeInfo v : catalog.volumes(d.id())) {
                if (ingested.contains(v.id())) {
                    String n = d.slot() + "/" + v.partitionIndex();
                    names.add(n);
                    if (volume == null || volume.equals(n)) {
                        candidates.add(v);
                    }
                }
            }
        }
        if (candidates.size() == 1) {
            return candidates.get(0);
        }
        if (candidates.isEmpty()) {
            throw new IOException(volume == null ? "backup " + b.id() + " has no NTFS volume"
                    : "backup " + b.id() + " has no volume " + volume + " (it has " + String.join(", ", names) + ")");
        }
        throw new IOException("\"" + spec + "\": backup " + b.id() + " has several volumes (" + String.join(", ", names)
                + "); pick one with --volume");
    }

    /**
     * The disk of backup {@code b} named by its slot ({@code scsi0:0}) or by its index in the order the
     * catalog (and {@code GET /v1/backups/{id}}) lists them; an error naming the disks it has otherwise.
     */
    public static DiskInfo disk(Catalog catalog, BackupInfo b, String name) throws IOException {
        List<DiskInfo> disks = catalog.disks(b.vmId());
        for (DiskInfo d : disks) {
            if (d.slot().equals(name)) {
                return d;
            }
        }
        if (name.matches("\\d{1,9}") && Integer.parseInt(name) < disks.size()) {
            return disks.get(Integer.parseInt(name));
        }
        throw new IOException("backup " + b.id() + " has no disk " + name + " (it has "
                + String.join(", ", disks.stream().map(DiskInfo::slot).toList()) + ")");
    }

    /** Collapses duplicate and trailing slashes; refuses '.' and '..' components. */
    static String normalise(String path) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String part : path.split("/")) {
            if (part.isEmpty()) {
                continue;
            }
            if (part.equals(".") || part.equals("..")) {
                throw new IOException("path \"" + path + "\": '.' and '..' are not allowed");
            }
            sb.append('/').append(part);
        }
        return sb.length() == 0 ? "/" : sb.toString();
    }
}
