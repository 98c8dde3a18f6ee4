package dev.coffer.agent.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.testkit.Fixtures;
import dev.coffer.vmdk.AllocatedRange;
import dev.coffer.vmdk.VirtualDisk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The snapshot-delta change tracking on a real qemu-made chain (base <- snap1 <- snap2 <- snap3). */
class ChainStateTest {
    @TempDir
    Path tmp;

    @Test
    void aNewDeltaOnTop_changesExactlyWhatItHolds_andATouchedParentMakesItUnknown() throws Exception {
        Path chain = Fixtures.build("vmdk-set", "mbr").resolve("chain");
        for (String f : List.of("base.vmdk", "snap1.vmdk", "snap2.vmdk", "snap3.vmdk")) {
            Files.copy(chain.resolve(f), tmp.resolve(f));
        }
        String before;
        try (VirtualDisk two = VirtualDisk.open(tmp.resolve("snap2.vmdk"))) {
            before = ChainState.describe(two);
            assertThat(before.lines()).hasSize(3).allSatisfy(l -> assertThat(l.split("\t")).hasSize(6));
            assertThat(ChainState.changedSince(two, ChainState.describe(two), before).isEmpty())
                    .as("the same files, unchanged: nothing changed").isTrue();
        }
        try (VirtualDisk three = VirtualDisk.open(tmp.resolve("snap3.vmdk"))) {
            Extents changed = ChainState.changedSince(three, ChainState.describe(three), before);
            long leaf = 0;
            for (AllocatedRange r : three.leafAllocation(0, three.size())) {
                if (r.kind() != AllocatedRange.Kind.UNALLOCATED) {
                    leaf += r.length();
                }
            }
            assertThat(leaf).isPositive();
            assertThat(changed.total()).as("what snap3 holds, nothing more").isEqualTo(leaf);
            assertThat(ChainState.changedSince(three, ChainState.describe(three), null)).isNull();

            Files.setLastModifiedTime(tmp.resolve("snap1.vmdk"), FileTime.from(Instant.now()));
            assertThat(ChainState.changedSince(three, ChainState.describe(three), before))
                    .as("a parent written since: unknown").isNull();
        }
        try (VirtualDisk one = VirtualDisk.open(tmp.resolve("snap1.vmdk"))) {
            assertThat(ChainState.changedSince(one, ChainState.describe(one), before))
                    .as("fewer layers than were read: unknown").isNull();
        }
    }

    @Test
    void settled_onlyWhenEveryTimeIsOlderThanTheLookByMoreThanATick() {
        long now = 1_800_000_000_123_456_789L;
        assertThat(ChainState.settled(line(now - 50_000_000L, now - 5_000_000_000L), now)).isFalse();
        assertThat(ChainState.settled(line(now - 200_000_000L, now - 5_000_000_000L), now)).isTrue();
        assertThat(ChainState.settled(line(now - 5_000_000_000L, now - 50_000_000L), now)).as("ctime counts").isFalse();
        long whole = now / 1_000_000_000L * 1_000_000_000L;
        assertThat(ChainState.settled(line(whole - 1_000_000_000L, whole - 2_000_000_000L), now))
                .as("whole seconds: a coarse clock").isFalse();
        assertThat(ChainState.settled(line(whole - 3_000_000_000L, whole - 3_000_000_000L), now)).isTrue();
    }

    private static String line(long mtime, long ctime) {
        return "0\t/ds/vm/disk.vmdk\t1024\t" + mtime + "\t" + ctime + "\t2049:12\n";
    }
}
