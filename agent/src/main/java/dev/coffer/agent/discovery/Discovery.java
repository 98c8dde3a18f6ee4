package dev.coffer.agent.discovery;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds VMs in a datastore: a datastore is a directory, a VM is a folder in it with a {@code .vmx}.
 *
 * <p>Every disk path a {@code .vmx} names is resolved inside the datastore; a path that leaves it
 * (absolute, {@code ..}, or a symlink pointing out) is refused, naming the VM and the key.
 */
public final class Discovery {
    /** {@code scsi0:1.fileName}, {@code sata0:0.fileName}, {@code nvme0:3.fileName}, {@code ide1:0.fileName}. */
    private static final Pattern DISK_KEY = Pattern.compile("((?:scsi|sata|nvme|ide)\\d{1,4}:\\d{1,4})\\.filename");
    /** Metadata kept with every backup, by extension. */
    private static final List<String> METADATA = List.of(".vmx", ".vmsd", ".nvram", ".vmxf", ".ovf");

    private Discovery() {}

    /**
     * Lists the VMs of {@code datastore}, one per folder holding a {@code .vmx}, sorted by folder
     * name. A folder whose {@code .vmx} cannot be read is reported to {@code errors} and skipped.
     */
    public static List<VirtualMachine> scan(Path datastore, BiConsumer<Path, IOException> errors) throws IOException {
        if (!Files.isDirectory(datastore)) {
            throw new DiscoveryException(datastore + ": not a datastore directory");
        }
        List<VirtualMachine> vms = new ArrayList<>();
        List<Path> folders = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(datastore)) {
            for (Path p : ds) {
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    folders.add(p);
                }
            }
        }
        folders.sort(Comparator.comparing(Path::toString));
        for (Path folder : folders) {
            Path vmx;
            try {
                vmx = findVmx(folder);
            } catch (DiscoveryException e) {
                errors.accept(folder, e);
                continue;
            }
            if (vmx == null) {
                continue;
            }
            try {
                vms.add(load(datastore, vmx));
            } catch (IOException e) {
                errors.accept(vmx, e);
            }
        }
        return vms;
    }

    /** The single {@code .vmx} of a VM folder, null when there is none. */
    public static Path findVmx(Path folder) throws IOException {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(folder, "*.vmx")) {
            for (Path p : ds) {
                if (Files.isRegularFile(p)) {
                    found.add(p);
                }
            }
        }
        if (found.size() > 1) {
            found.sort(Comparator.comparing(Path::toString));
            throw new DiscoveryException(folder + ": more than one .vmx (" + found.get(0).getFileName() + ", "
                    + found.get(1).getFileName() + ")");
        }
        return found.isEmpty() ? null : found.get(0);
    }

    /**
     * Loads one VM from its {@code .vmx}; disk paths must stay inside {@code datastore}.
     */
    public static VirtualMachine load(Path datastore, Path vmxPath) throws IOException {
        VmxFile vmx = VmxFile.read(vmxPath);
        Path folder = vmxPath.toAbsolutePath().getParent();
        Path root = datastore.toRealPath();
        Map<String, VirtualMachine.VmDisk> disks = new TreeMap<>(Discovery::compareSlots);
        for (Map.Entry<String, String> e : vmx.entries().entrySet()) {
            Matcher m = DISK_KEY.matcher(e.getKey());
            if (!m.matches()) {
                continue;
            }
            String slot = m.group(1);
            if (!vmx.flag(slot + ".present", true)) {
                continue;
            }
            String type = vmx.get(slot + ".devicetype").orElse("").toLowerCase(Locale.ROOT);
            String file = e.getValue();
            if (type.contains("cdrom") || type.contains("atapi") || file.toLowerCase(Locale.ROOT).endsWith(".iso")
                    || !file.toLowerCase(Locale.ROOT).endsWith(".vmdk")) {
                continue;
            }
            Path leaf = insideDatastore(root, folder, file, vmxPath, e.getKey());
            disks.put(slot, new VirtualMachine.VmDisk(slot, leaf));
        }
        List<Path> metadata = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(folder)) {
            for (Path p : ds) {
                String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                        && METADATA.stream().anyMatch(name::endsWith)) {
                    metadata.add(p);
                }
            }
        }
        metadata.sort(Comparator.comparing(Path::toString));
        Map<String, String> tags = new LinkedHashMap<>();
        vmx.entries().forEach((k, v) -> {
            if (k.startsWith("coffer.tag.")) {
                tags.put(k.substring("coffer.tag.".length()), v);
            }
        });
        String name = vmx.get("displayName").filter(s -> !s.isBlank())
                .orElse(folder.getFileName().toString());
        String uuid = vmx.get("uuid.bios").map(Discovery::normaliseUuid).orElse("");
        return new VirtualMachine(folder, vmxPath.toAbsolutePath(), name, uuid,
                List.copyOf(disks.values()), List.copyOf(metadata), Map.copyOf(tags));
    }

    /** Resolves a disk file name against the VM folder and refuses anything outside the datastore. */
    static Path insideDatastore(Path root, Path folder, String file, Path vmx, String key) throws IOException {
        if (file.indexOf('\0') >= 0) {
            throw new DiscoveryException(vmx + ": " + key + " contains a NUL byte");
        }
        Path p = folder.resolve(file).normalize();
        Path real = Files.exists(p) ? p.toRealPath() : p.toAbsolutePath().normalize();
        if (!real.startsWith(root)) {
            throw new DiscoveryException(vmx + ": " + key + " = \"" + file + "\" points outside the datastore "
                    + root);
        }
        return p;
    }

    /** "56 4d 12 34 ...-..." to 32 lowercase hex digits. */
    static String normaliseUuid(String raw) {
        String hex = raw.replaceAll("[^0-9a-fA-F]", "").toLowerCase(Locale.ROOT);
        return hex.length() == 32 ? hex : raw.strip();
    }

    private static int compareSlots(String a, String b) {
        return slotKey(a).compareTo(slotKey(b));
    }

    private static String slotKey(String slot) {
        Matcher m = Pattern.compile("([a-z]+)(\\d+):(\\d+)").matcher(slot);
        if (!m.matches()) {
            return slot;
        }
        return String.format("%s%04d:%04d", m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)));
    }
}
