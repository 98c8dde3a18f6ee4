package dev.coffer.ntfs;

import dev.coffer.testkit.Fixtures;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Runs The Sleuth Kit as the oracle: fls listings, icat content, tsk_recover extraction. */
final class Tsk {
    private Tsk() {}

    /** One allocated name from {@code fls -r -p -l -u}: its metadata address (record-type-id), path, meta type, size. */
    record Entry(String address, String path, char metaType, long size) {}

    /**
     * Every allocated name fls lists, keyed by path, metafiles ($-names at the root and below),
     * and fls's second spelling "dir/.:stream" of a directory's stream left out.
     */
    static Map<String, Entry> fls(Path volume) {
        Map<String, Entry> out = new LinkedHashMap<>();
        for (String line : Fixtures.run("fls", "-r", "-p", "-l", "-u", volume.toString()).split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t");
            String head = f[0];
            String path = f[1];
            if (path.startsWith("$") || path.contains("/.:")) {
                continue;
            }
            String type = head.substring(0, head.indexOf(' '));
            String addr = head.substring(head.lastIndexOf(' ') + 1, head.length() - 1);
            out.put(path, new Entry(addr, path, type.charAt(2), Long.parseLong(f[6])));
        }
        return out;
    }

    /** MD5 (hex) of {@code icat VOLUME ADDRESS}. */
    static String icatMd5(Path volume, String address) {
        return Fixtures.run("bash", "-c", "icat \"$0\" \"$1\" | md5sum", volume.toString(), address).substring(0, 32);
    }

    /** MD5s of many icat addresses in one shell, in order. */
    static String[] icatMd5s(Path volume, java.util.List<String> addresses) {
        if (addresses.isEmpty()) {
            return new String[0];
        }
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("bash", "-c",
                "v=$0; for a in \"$@\"; do icat \"$v\" \"$a\" | md5sum; done", volume.toString()));
        cmd.addAll(addresses);
        String out = Fixtures.run(cmd.toArray(String[]::new)).trim();
        return out.split("\n");
    }
}
