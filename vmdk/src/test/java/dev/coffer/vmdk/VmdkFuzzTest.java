package dev.coffer.vmdk;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Fuzz targets for every parser that sees untrusted bytes. In a normal build they run once per seed
 * input under {@code src/test/resources/dev/coffer/vmdk/VmdkFuzzTestInputs/<method>/} (seeds written
 * by TestImages: sparse, streamOptimized, COWD, seSparse, descriptors, an MBR with a logical
 * partition); {@code JAZZER_FUZZ=1 mvn -pl vmdk test -Dtest=VmdkFuzzTest} fuzzes for real. The only
 * acceptable failures are VmdkException (typed, with a message) and a missing extent file.
 */
class VmdkFuzzTest {
    private static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("coffer-vmdk-fuzz");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "60s")
    void descriptor(byte[] data) {
        try {
            Descriptor d = Descriptor.parse(data, Path.of("fuzz.vmdk"), 0);
            d.ddb();
            d.parentFileNameHint();
        } catch (VmdkException expected) {
            requireMessage(expected);
        }
    }

    @FuzzTest(maxDuration = "120s")
    void image(byte[] data) throws IOException {
        Path p = DIR.resolve("fuzz-" + Thread.currentThread().getId() + ".vmdk");
        Files.write(p, data);
        try (VirtualDisk d = VirtualDisk.open(p)) {
            long size = d.size();
            ByteBuffer b = ByteBuffer.allocate((int) Math.min(size, 256 * 1024));
            d.read(0, b);
            if (size > 4096) {
                d.read(size - 4096, ByteBuffer.allocate(4096));
            }
            d.allocation(0, Math.min(size, 64L << 20));
            d.leafAllocation(0, Math.min(size, 64L << 20));
            PartitionTable.read(d, p.toString());
            for (Layer l : d.chain()) {
                l.extentDetails();
            }
        } catch (VmdkException expected) {
            requireMessage(expected);
        } catch (NoSuchFileException expected) {
            // a descriptor naming an extent that is not there
        }
    }

    @FuzzTest(maxDuration = "60s")
    void partitions(byte[] data) throws IOException {
        ByteSource src = new ByteSource() {
            @Override
            public long size() {
                return data.length;
            }

            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                if (offset < 0 || offset > data.length - dst.remaining()) {
                    throw new CorruptImageException("fuzz at 0x" + Long.toHexString(offset) + ": past the end");
                }
                dst.put(data, (int) offset, dst.remaining());
            }
        };
        try {
            PartitionTable t = PartitionTable.read(src, "fuzz");
            for (Partition p : t.partitions()) {
                if (p.offset() < 0 || p.end() > data.length) {
                    throw new AssertionError("partition outside the disk: " + p);
                }
            }
        } catch (VmdkException expected) {
            requireMessage(expected);
        }
    }

    private static void requireMessage(VmdkException e) {
        if (e.getMessage() == null || !e.getMessage().contains("fuzz")) {
            throw new AssertionError("error message does not name the file: " + e.getMessage(), e);
        }
    }
}
