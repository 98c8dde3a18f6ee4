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

/**
 * Finds VMs in a datastore: a datastore is a directory, a VM is a folder in it with a {@code .vmx}.
 *
 * <p>Every disk path a {@code .vmx} names is resolved inside the datastore; a path that leaves it
 * (absolute, {@code ..}, or a symlink pointing out) is refused, naming the VM and the key.
 */
public final class Discovery {
    /** The buses of a disk key: {@code scsi0:1.fileName}, {@code sata0:0.fileName}, {@code nvme0:3.fileName}, {@code ide1:0.fileName}. */
    private static final List<String> BUSES = List.of("scsi", "sata", "nvme", "ide");
    private static final String FILE_NAME = ".filename";
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
            String slot = diskSlot(e.getKey());
            if (slot == null) {
                continue;
            }
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

    /*
     * The .vmx keys are read without regular expressions or String.format: compiling the patterns and
     * starting the formatter cost ~30 ms of a backup's main thread as it starts (a CPU profile of an
     * incremental backup, ~1.1 s in all).
     */

    /**
     * The slot a disk key names ({@code scsi0:1} for {@code scsi0:1.filename}: a bus, 1-4 digits, a colon,
     * 1-4 digits), or null for any other key. Keys are lower case.
     */
    static String diskSlot(String key) {
        if (!key.endsWith(FILE_NAME)) {
            return null;
        }
        String slot = key.substring(0, key.length() - FILE_NAME.length());
        for (String bus : BUSES) {
            if (slot.startsWith(bus)) {
                int colon = slot.indexOf(':', bus.length());
                return colon >= 0 && digits(slot, bus.length(), colon) && digits(slot, colon + 1, slot.length()) ? slot : null;
            }
        }
        return null;
    }

    /** Whether {@code s[from, to)} is 1 to 4 ASCII digits. */
    private static boolean digits(String s, int from, int to) {
        if (to - from < 1 || to - from > 4) {
            return false;
        }
        for (int i = from; i < to; i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    /** "56 4d 12 34 ...-..." to 32 lowercase hex digits. */
    static String normaliseUuid(String raw) {
        StringBuilder hex = new StringBuilder(32);
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
                hex.append(c);
            } else if (c >= 'A' && c <= 'F') {
                hex.append((char) (c - 'A' + 'a'));
            }
        }
        return hex.length() == 32 ? hex.toString() : raw.strip();
    }

    private static int compareSlots(String a, String b) {
        return slotKey(a).compareTo(slotKey(b));
    }

    /** {@code scsi0:12} as {@code scsi0000:0012}, so slots sort by bus, then number, then unit. */
    static String slotKey(String slot) {
        int letters = 0;
        while (letters < slot.length() && slot.charAt(letters) >= 'a' && slot.charAt(letters) <= 'z') {
            letters++;
        }
        int colon = slot.indexOf(':', letters);
        if (letters == 0 || colon < 0 || !digits(slot, letters, colon) || !digits(slot, colon + 1, slot.length())) {
            return slot;
        }
        return slot.substring(0, letters) + padded(slot, letters, colon) + ':' + padded(slot, colon + 1, slot.length());
    }

    /** The digits {@code s[from, to)} as a number of at least four digits. */
    private static String padded(String s, int from, int to) {
        String n = Integer.toString(Integer.parseInt(s, from, to, 10));
        return "0".repeat(Math.max(0, 4 - n.length())) + n;
    }
}
