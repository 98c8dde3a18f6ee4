package dev.coffer.vmdk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;

/**
 * Reads the partition table of a disk: MBR (with extended and logical partitions) or GPT (header and
 * entry-array CRCs checked; the backup header at the disk's last sector is used when the primary is
 * damaged). 512-byte logical sectors.
 *
 * <p>Sources: UEFI Specification 2.10 §5.3 (GPT header and entry layout, CRC32 rules); the classic
 * IBM PC MBR layout and extended boot record chaining as documented by util-linux {@code sfdisk(8)}.
 */
public final class PartitionTable {
    /** Which partitioning scheme the disk uses. */
    public enum Scheme {
        MBR, GPT, NONE
    }

    private static final int SECTOR = 512;
    private static final int MBR_SIGNATURE_AT = 0x1FE;
    private static final int MBR_ENTRIES_AT = 0x1BE;
    private static final long GPT_SIGNATURE = 0x5452415020494645L; // "EFI PART"
    /** Most logical partitions followed in an extended chain: Linux stops at 256 partitions too. */
    private static final int MAX_LOGICAL = 252;
    /** Most GPT entries accepted: 128 is standard; some tools write up to a few thousand. */
    private static final int MAX_GPT_ENTRIES = 16384;
    /** Largest GPT entry size accepted (the spec requires 128 * 2^n). */
    private static final int MAX_GPT_ENTRY_SIZE = 4096;

    private static final Map<Integer, String> MBR_KINDS = Map.ofEntries(
            Map.entry(0x01, "fat12"), Map.entry(0x04, "fat16"), Map.entry(0x06, "fat16"), Map.entry(0x0E, "fat16"),
            Map.entry(0x05, "extended"), Map.entry(0x0F, "extended"), Map.entry(0x85, "extended"),
            Map.entry(0x07, "ntfs/basic-data"), Map.entry(0x17, "ntfs/hidden"), Map.entry(0x0B, "fat32"),
            Map.entry(0x0C, "fat32"), Map.entry(0x27, "windows-recovery"), Map.entry(0x42, "windows-ldm"),
            Map.entry(0x82, "linux-swap"), Map.entry(0x83, "linux"), Map.entry(0x8E, "linux-lvm"),
            Map.entry(0xFD, "linux-raid"), Map.entry(0xEE, "gpt-protective"), Map.entry(0xEF, "efi-system"),
            Map.entry(0xFB, "vmfs"), Map.entry(0xFC, "vmkcore"));
    private static final Map<String, String> GPT_KINDS = Map.ofEntries(
            Map.entry("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "ntfs/basic-data"),
            Map.entry("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "efi-system"),
            Map.entry("E3C9E316-0B5C-4DB8-817D-F92DF00215AE", "microsoft-reserved"),
            Map.entry("DE94BBA4-06D1-4D40-A16A-BFD50179D6AC", "windows-recovery"),
            Map.entry("5808C8AA-7E8F-42E0-85D2-E1E90434CFB3", "windows-ldm-metadata"),
            Map.entry("AF9B60A0-1431-4F62-BC68-3311714A69AD", "windows-ldm-data"),
            Map.entry("0FC63DAF-8483-4772-8E79-3D69D8477DE4", "linux"),
            Map.entry("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "linux-swap"),
            Map.entry("E6D6D379-F507-44C2-A23C-238F2A3DF928", "linux-lvm"),
            Map.entry("A19D880F-05FC-4D3B-A006-743F0F84911E", "linux-raid"),
            Map.entry("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "linux-root-x86-64"),
            Map.entry("21686148-6449-6E6F-744E-656564454649", "bios-boot"),
            Map.entry("AA31E02A-400F-11DB-9590-000C2911D1B8", "vmfs"));

    private final Scheme scheme;
    private final List<Partition> partitions;
    private final boolean usedBackupGpt;

    private PartitionTable(Scheme scheme, List<Partition> partitions, boolean usedBackupGpt) {
        this.scheme = scheme;
        this.partitions = List.copyOf(partitions);
        this.usedBackupGpt = usedBackupGpt;
    }

    /** Reads the partition table of {@code src}; errors are named "disk". */
    public static PartitionTable read(ByteSource src) throws IOException {
        return read(src, "disk");
    }

    /**
     * Reads the partition table of {@code src}; {@code name} (the disk's file) prefixes every error.
     * A disk without the 0x55AA signature, or whose first sector is a filesystem boot sector, has
     * scheme NONE.
     */
    public static PartitionTable read(ByteSource src, String name) throws IOException {
        if (src.size() < SECTOR) {
            return new PartitionTable(Scheme.NONE, List.of(), false);
        }
        ByteBuffer mbr = sector(src, 0);
        if (Short.toUnsignedInt(mbr.getShort(MBR_SIGNATURE_AT)) != 0xAA55 || isBootSector(mbr)) {
            return new PartitionTable(Scheme.NONE, List.of(), false);
        }
        boolean protective = false;
        for (int i = 0; i < 4; i++) {
            if (Byte.toUnsignedInt(mbr.get(MBR_ENTRIES_AT + 16 * i + 4)) == 0xEE) {
                protective = true;
            }
        }
        if (protective) {
            return readGpt(src, name);
        }
        return readMbr(src, name, mbr);
    }

    private static boolean isBootSector(ByteBuffer s) {
        String oem = new String(new byte[] {s.get(3), s.get(4), s.get(5), s.get(6), s.get(7), s.get(8), s.get(9),
                s.get(10)}, StandardCharsets.ISO_8859_1);
        return oem.equals("NTFS    ") || oem.equals("EXFAT   ")
                || new String(new byte[] {s.get(0x52), s.get(0x53), s.get(0x54), s.get(0x55), s.get(0x56)},
                        StandardCharsets.ISO_8859_1).equals("FAT32")
                || new String(new byte[] {s.get(0x36), s.get(0x37), s.get(0x38)},
                        StandardCharsets.ISO_8859_1).equals("FAT");
    }

    private static ByteBuffer sector(ByteSource src, long lba) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
        src.read(lba * SECTOR, b);
        return b.flip();
    }

    private static String kindOfMbr(int type) {
        return MBR_KINDS.getOrDefault(type, String.format("mbr-0x%02x", type));
    }

    private static boolean isExtended(int type) {
        return type == 0x05 || type == 0x0F || type == 0x85;
    }

    private static PartitionTable readMbr(ByteSource src, String name, ByteBuffer mbr) throws IOException {
        long diskSectors = src.size() / SECTOR;
        List<Partition> out = new ArrayList<>();
        Partition extended = null;
        for (int i = 0; i < 4; i++) {
            int at = MBR_ENTRIES_AT + 16 * i;
            int status = Byte.toUnsignedInt(mbr.get(at));
            int type = Byte.toUnsignedInt(mbr.get(at + 4));
            long start = Integer.toUnsignedLong(mbr.getInt(at + 8));
            long count = Integer.toUnsignedLong(mbr.getInt(at + 12));
            if (type == 0 || count == 0) {
                continue;
            }
            if (status != 0x00 && status != 0x80) {
                throw new CorruptImageException(name + " at 0x" + Integer.toHexString(at) + ": MBR entry "
                        + (i + 1) + " status, expected 0x00 or 0x80, found 0x" + Integer.toHexString(status));
            }
            checkBounds(name, at, start, count, 0, diskSectors, "MBR entry " + (i + 1));
            Partition p = new Partition(i + 1, start * SECTOR, count * SECTOR, type, null, kindOfMbr(type), "", null);
            out.add(p);
            if (isExtended(type)) {
                if (extended != null) {
                    throw new CorruptImageException(name + " at 0x" + Integer.toHexString(at)
                            + ": a second extended partition in the MBR");
                }
                extended = p;
            }
        }
        if (extended != null) {
            readLogical(src, name, extended, diskSectors, out);
        }
        return new PartitionTable(Scheme.MBR, out, false);
    }

    /** Follows the chain of extended boot records; each link is relative to the extended partition. */
    private static void readLogical(ByteSource src, String name, Partition ext, long diskSectors,
            List<Partition> out) throws IOException {
        long extStart = ext.offset() / SECTOR;
        long extEnd = ext.end() / SECTOR;
        long ebr = extStart;
        Set<Long> seen = new HashSet<>();
        int index = 5;
        while (true) {
            if (!seen.add(ebr)) {
                throw new CorruptImageException(name + " at 0x" + Long.toHexString(ebr * SECTOR)
                        + ": extended boot record chain loops back to itself");
            }
            if (index - 5 >= MAX_LOGICAL) {
                throw new LimitExceededImageException(name + " at 0x" + Long.toHexString(ebr * SECTOR)
                        + ": more than " + MAX_LOGICAL + " logical partitions");
            }
            ByteBuffer b = sector(src, ebr);
            long at = ebr * SECTOR;
            if (Short.toUnsignedInt(b.getShort(MBR_SIGNATURE_AT)) != 0xAA55) {
                throw new CorruptImageException(name + " at 0x" + Long.toHexString(at + MBR_SIGNATURE_AT)
                        + ": extended boot record signature, expected 0xaa55, found 0x"
                        + Integer.toHexString(Short.toUnsignedInt(b.getShort(MBR_SIGNATURE_AT))));
            }
            int type = Byte.toUnsignedInt(b.get(MBR_ENTRIES_AT + 4));
            long start = Integer.toUnsignedLong(b.getInt(MBR_ENTRIES_AT + 8));
            long count = Integer.toUnsignedLong(b.getInt(MBR_ENTRIES_AT + 12));
            if (type != 0 && count != 0) {
                long abs = ebr + start;
                checkBounds(name, at + MBR_ENTRIES_AT, abs, count, extStart, extEnd, "logical partition " + index);
                out.add(new Partition(index, abs * SECTOR, count * SECTOR, type, null, kindOfMbr(type), "", null));
                index++;
            }
            int nextType = Byte.toUnsignedInt(b.get(MBR_ENTRIES_AT + 16 + 4));
            long next = Integer.toUnsignedLong(b.getInt(MBR_ENTRIES_AT + 16 + 8));
            if (nextType == 0 || !isExtended(nextType)) {
                return;
            }
            long nextAbs = extStart + next;
            if (next == 0 || nextAbs >= extEnd) {
                throw new CorruptImageException(name + " at 0x" + Long.toHexString(at + MBR_ENTRIES_AT + 16)
                        + ": next extended boot record at sector " + nextAbs + ", outside the extended partition "
                        + extStart + ".." + (extEnd - 1));
            }
            ebr = nextAbs;
        }
    }

    private static void checkBounds(String name, long at, long start, long count, long min, long end, String what)
            throws CorruptImageException {
        if (start < min || start >= end || count > end - start) {
            throw new CorruptImageException(name + " at 0x" + Long.toHexString(at) + ": " + what + " spans sectors "
                    + start + "+" + count + ", outside " + min + ".." + (end - 1));
        }
    }

    private static PartitionTable readGpt(ByteSource src, String name) throws IOException {
        long diskSectors = src.size() / SECTOR;
        CorruptImageException primaryError;
        try {
            return new PartitionTable(Scheme.GPT, readGptAt(src, name, 1, diskSectors), false);
        } catch (CorruptImageException e) {
            primaryError = e;
        }
        try {
            return new PartitionTable(Scheme.GPT, readGptAt(src, name, diskSectors - 1, diskSectors), true);
        } catch (CorruptImageException e) {
            throw new CorruptImageException(primaryError.getMessage() + "; backup GPT header unusable too: "
                    + e.getMessage());
        }
    }

    private static List<Partition> readGptAt(ByteSource src, String name, long lba, long diskSectors)
            throws IOException {
        ByteBuffer h = sector(src, lba);
        long at = lba * SECTOR;
        if (h.getLong(0) != GPT_SIGNATURE) {
            throw new CorruptImageException(name + " at 0x" + Long.toHexString(at)
                    + ": GPT header signature \"EFI PART\" missing");
        }
        long headerSize = Integer.toUnsignedLong(h.getInt(0x0C));
        if (headerSize < 92 || headerSize > SECTOR) {
            throw new CorruptImageException(name + " at 0x" + Long.toHexString(at + 0x0C)
                    + ": GPT header size, expected 92..512, found " + headerSize);
        }
        long storedCrc = Integer.toUnsignedLong(h.getInt(0x10));
        byte[] copy = new byte[(int) headerSize];
        h.get(0, copy);
        copy[0x10] = copy[0x11] = copy[0x12] = copy[0x13] = 0;
        CRC32 crc = new CRC32();
        crc.update(copy);
        if (crc.getValue() != storedCrc) {
            throw new CorruptImageException(name + " at 0x" + Long.toHexString(at + 0x10) + ": GPT header CRC32,"
                    + " expected 0x" + Long.toHexString(crc.getValue()) + ", found 0x" + Long.toHexString(storedCrc));
        }
        long myLba = h.getLong(0x18);
        if (myLba != lba) {
            throw new CorruptImageException(name + " at 0x" + Long.toHexString(at + 0x18) + ": GPT header's own LBA,"
                    + " expected " + lba + ", found " + myLba);
        }
        long firstUsable = h.getLong(0x28);
        long lastUsable = h.getLong(0x30);
        long entriesLba = h.getLong(0x48);
        long count = Integer.toUnsignedLong(h.getInt(0x50));
        long entrySize = Integer.toUnsignedLong(h.getInt(0x54));
        long entriesCrc = Integer.toUnsignedLong(h.getInt(0x58));
        if (count > MAX_GPT_ENTRIES) {
            throw new LimitExceededImageException(name + " at 0x" + Long.toHexString(at + 0x50) + ": " + count
                    + " GPT entries, limit " + MAX_GPT_ENTRIES);
        }
        if (entrySize < 128 || entrySize > MAX_GPT_ENTRY_SIZE || Long.bitCount(entrySize) != 1) {
            throw new CorruptImageException(name + " at 0x" + Long.toHexString(at + 0x54)
                    + ": GPT entry size, expected 128 * 2^n up to " + MAX_GPT_ENTRY_SIZE + ", found " + entrySize);
        }
        long bytes = count * entrySize;
        if (entriesLba < 1 || entriesLba >= diskSectors || bytes > (diskSectors - entriesLba) * SECTOR) {
            throw new CorruptImageException(name + " at 0x" + Long.toHexString(at + 0x48)
                    + ": GPT entry array at sector " + entriesLba + " (" + bytes + " bytes) is outside the disk");
        }
        if (firstUsable > lastUsable || lastUsable >= diskSectors) {
            throw new CorruptImageException(name + " at 0x" + Long.toHexString(at + 0x28) + ": GPT usable sectors "
                    + firstUsable + ".." + lastUsable + " do not fit the disk of " + diskSectors + " sectors");
        }
        ByteBuffer e = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        src.read(entriesLba * SECTOR, e);
        e.flip();
        crc.reset();
        crc.update(e.duplicate());
        if (crc.getValue() != entriesCrc) {
            throw new CorruptImageException(name + " at 0x" + Long.toHexString(entriesLba * SECTOR)
                    + ": GPT entry array CRC32, expected 0x" + Long.toHexString(crc.getValue()) + ", found 0x"
                    + Long.toHexString(entriesCrc));
        }
        List<Partition> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int base = (int) (i * entrySize);
            String type = guid(e, base);
            if (type.equals("00000000-0000-0000-0000-000000000000")) {
                continue;
            }
            long first = e.getLong(base + 0x20);
            long last = e.getLong(base + 0x28);
            long entryAt = entriesLba * SECTOR + base;
            if (first < firstUsable || last < first || last > lastUsable) {
                throw new CorruptImageException(name + " at 0x" + Long.toHexString(entryAt) + ": GPT entry " + (i + 1)
                        + " spans sectors " + first + ".." + last + ", outside the usable " + firstUsable + ".."
                        + lastUsable);
            }
            char[] chars = new char[36];
            int n = 0;
            for (; n < 36; n++) {
                char c = e.getChar(base + 0x38 + 2 * n);
                if (c == 0) {
                    break;
                }
                chars[n] = c;
            }
            out.add(new Partition(i + 1, first * SECTOR, (last - first + 1) * SECTOR, -1, type,
                    GPT_KINDS.getOrDefault(type, "gpt-" + type.toLowerCase(Locale.ROOT)), new String(chars, 0, n),
                    guid(e, base + 0x10)));
        }
        return out;
    }

    /** Formats a GUID stored with its first three fields little-endian. */
    private static String guid(ByteBuffer b, int at) {
        return String.format("%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", b.getInt(at),
                b.getShort(at + 4), b.getShort(at + 6), b.get(at + 8), b.get(at + 9), b.get(at + 10), b.get(at + 11),
                b.get(at + 12), b.get(at + 13), b.get(at + 14), b.get(at + 15));
    }

    /** MBR, GPT, or NONE (no table). */
    public Scheme scheme() {
        return scheme;
    }

    /** The partitions in table order (MBR: primaries, including an extended container, then logicals). */
    public List<Partition> partitions() {
        return partitions;
    }

    /** True when the primary GPT header or entries were damaged and the backup was used. */
    public boolean usedBackupGpt() {
        return usedBackupGpt;
    }
}
