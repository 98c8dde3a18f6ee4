package dev.coffer.agent.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class DiskStatsTest {
    /** Captured on this VM (kernel 6.18: 20 fields per line). */
    static final String CAPTURED = """
               7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
             254       0 vda 36588 7066 2074826 9255 12308 7523 8173920 52457 0 8708 65414 4825 101 3308016 1799 1413 1901
             253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
            """;
    /** A 2.6-era line: only the 11 classic counters. */
    static final String OLD = "   8       1 sda1 100 0 800 40 50 0 400 20 2 55 60\n";

    @Test
    void parse_capturedKernel618Text() throws Exception {
        List<DiskStats> all = DiskStats.parseAll(CAPTURED, "diskstats");
        assertThat(all).extracting(DiskStats::name).containsExactly("loop0", "vda", "zram0");
        DiskStats vda = all.get(1);
        assertThat(vda.devNo()).isEqualTo("254:0");
        assertThat(vda.readIos()).isEqualTo(36588);
        assertThat(vda.readSectors()).isEqualTo(2074826);
        assertThat(vda.readTicksMs()).isEqualTo(9255);
        assertThat(vda.writeIos()).isEqualTo(12308);
        assertThat(vda.writeSectors()).isEqualTo(8173920);
        assertThat(vda.writeTicksMs()).isEqualTo(52457);
        assertThat(vda.inFlight()).isZero();
        assertThat(vda.ioTicksMs()).isEqualTo(8708);
        assertThat(vda.weightedTicksMs()).isEqualTo(65414);
    }

    @Test
    void parse_oldKernelWith11Counters() throws Exception {
        DiskStats s = DiskStats.parseAll(OLD, "diskstats").get(0);
        assertThat(s).isEqualTo(new DiskStats(8, 1, "sda1", 100, 800, 40, 50, 400, 20, 2, 55, 60));
    }

    @Test
    void parse_rejectsShortLinesAndGarbage_namingFileLineAndField() {
        assertThatThrownBy(() -> DiskStats.parseAll("8 0 sda 1 2 3\n", "/proc/diskstats"))
                .isInstanceOf(LoadProbeException.class)
                .hasMessage("/proc/diskstats line 1: expected at least 14 fields, found 6");
        assertThatThrownBy(() -> DiskStats.parseAll(OLD + OLD.replace("800", "8x0"), "/proc/diskstats"))
                .isInstanceOf(LoadProbeException.class)
                .hasMessage("/proc/diskstats line 2 field 6: expected an unsigned number, found '8x0'");
        assertThatThrownBy(() -> DiskStats.parseAll(OLD.replace("   8 ", "-8 "), "d"))
                .hasMessageContaining("field 1: expected an unsigned number, found '-8'");
        assertThatThrownBy(() -> DiskStats.parseAll(OLD.replace("   8 ", "4294967296 "), "d"))
                .hasMessageContaining("field 1: expected at most 2147483647, found 4294967296");
    }

    @Test
    void parse_acceptsUnsigned64BitCounters() throws Exception {
        DiskStats s = DiskStats.parseAll(OLD.replace(" 100 ", " 18446744073709551615 "), "d").get(0);
        assertThat(s.readIos()).isEqualTo(-1L); // 2^64-1 as an unsigned long
        assertThat(DiskStats.delta(s.readIos(), 4)).isZero(); // wrapped: no bogus huge delta
        assertThat(DiskStats.delta(5, 9)).isEqualTo(4);
        assertThat(DiskStats.delta(9, 5)).isZero();
    }

    @Test
    void parse_liveProcDiskstats_findsTheRootDevice() throws Exception {
        String text = Files.readString(Path.of("/proc/diskstats"));
        List<DiskStats> all = DiskStats.parseAll(text, "/proc/diskstats");
        assertThat(all).hasSize((int) text.lines().filter(l -> !l.isBlank()).count());
        // the device under / (from the kernel's own mountinfo) is listed and has done reads
        MountInfo root = MountInfo.parseAll(Files.readString(Path.of("/proc/self/mountinfo")), "m")
                .stream().filter(m -> m.mountPoint().equals("/")).reduce((a, b) -> b).orElseThrow();
        assertThat(all).anySatisfy(d -> {
            assertThat(d.major()).isEqualTo(root.major());
            assertThat(d.readIos()).isPositive();
        });
    }

    @Test
    void deviceLoad_between_computesUtilisationQueueAndAwait() throws Exception {
        DiskStats a = new DiskStats(8, 0, "sda", 1000, 8000, 500, 100, 800, 300, 0, 10_000, 20_000);
        // 250 ms later: 200 reads of 64 sectors taking 100 ms in all, 50 writes taking 150 ms,
        // busy 125 ms, 500 ms of in-flight time
        DiskStats b = new DiskStats(8, 0, "sda", 1200, 8000 + 12800, 600, 150, 800 + 400, 450, 3,
                10_125, 20_500);
        DeviceLoad l = DeviceLoad.between(a, b, 250_000_000L);
        assertThat(l.readIos()).isEqualTo(200);
        assertThat(l.readBytes()).isEqualTo(12800L * 512);
        assertThat(l.writeBytes()).isEqualTo(400L * 512);
        assertThat(l.utilisationPercent()).isEqualTo(50.0);
        assertThat(l.avgQueueDepth()).isEqualTo(2.0);
        assertThat(l.readAwaitMs()).isEqualTo(0.5);
        assertThat(l.writeAwaitMs()).isEqualTo(3.0);
    }
}
