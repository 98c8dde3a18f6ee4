package dev.coffer.agent.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcLoadProbeTest {
    @TempDir
    Path tmp;

    private void write(Path proc, String diskstats, String io, String cpu) throws Exception {
        Files.createDirectories(proc.resolve("pressure"));
        Files.writeString(proc.resolve("diskstats"), diskstats);
        if (io != null) {
            Files.writeString(proc.resolve("pressure/io"), io);
        }
        if (cpu != null) {
            Files.writeString(proc.resolve("pressure/cpu"), cpu);
        }
    }

    @Test
    void sample_deltasOverTheFakeClocksInterval() throws Exception {
        Path proc = tmp.resolve("proc");
        FakeClock clock = new FakeClock();
        write(proc, " 254 0 vda 1000 0 8000 500 100 0 800 300 0 10000 20000\n 8 0 sda 1 0 1 1 1 0 1 1 0 1 1\n",
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=1000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=500\n",
                "some avg10=1.00 avg60=0.00 avg300=0.00 total=7000\n");
        ProcLoadProbe probe = new ProcLoadProbe(proc, List.of(new BlockDevice("vda", 254, 0)), clock);
        clock.advanceMillis(250);
        write(proc, " 254 0 vda 1200 0 20800 600 150 0 1200 450 3 10125 20500\n 8 0 sda 9 0 9 9 9 0 9 9 0 9 9\n",
                "some avg10=5.00 avg60=0.00 avg300=0.00 total=51000\nfull avg10=1.00 avg60=0.00 avg300=0.00 total=10500\n",
                "some avg10=2.00 avg60=0.00 avg300=0.00 total=32000\n");
        LoadSample s = probe.sample();
        assertThat(s.intervalNanos()).isEqualTo(250_000_000L);
        assertThat(s.devices()).singleElement().satisfies(d -> {
            assertThat(d.name()).isEqualTo("vda");
            assertThat(d.readIos()).isEqualTo(200);
            assertThat(d.readBytes()).isEqualTo(12800L * 512);
            assertThat(d.utilisationPercent()).isEqualTo(50.0);
            assertThat(d.avgQueueDepth()).isEqualTo(2.0);
            assertThat(d.readAwaitMs()).isEqualTo(0.5);
            assertThat(d.writeAwaitMs()).isEqualTo(3.0);
        });
        assertThat(s.io().someStallMicros()).isEqualTo(50_000);
        assertThat(s.io().someShare(s.intervalNanos())).isEqualTo(0.2);
        assertThat(s.io().fullStallMicros()).isEqualTo(10_000);
        assertThat(s.io().someAvg10()).isEqualTo(5.0);
        assertThat(s.cpu().someStallMicros()).isEqualTo(25_000);
        assertThat(s.cpu().fullStallMicros()).isZero();
        assertThat(s.note()).isEmpty();
        assertThat(s.at()).isEqualTo(clock.instant());
    }

    @Test
    void missingPressureFilesAndVanishedDevices_areNotedNotFatal() throws Exception {
        Path proc = tmp.resolve("proc");
        FakeClock clock = new FakeClock();
        write(proc, " 254 0 vda 1 0 1 1 1 0 1 1 0 1 1\n", null, null);
        ProcLoadProbe probe = new ProcLoadProbe(proc, List.of(new BlockDevice("vda", 254, 0)), clock);
        clock.advanceMillis(250);
        Files.writeString(proc.resolve("diskstats"), " 8 0 sda 1 0 1 1 1 0 1 1 0 1 1\n");
        LoadSample s = probe.sample();
        assertThat(s.io()).isEqualTo(PressureDelta.ABSENT);
        assertThat(s.cpu().available()).isFalse();
        assertThat(s.devices()).isEmpty();
        assertThat(s.note()).contains("pressure/io absent").contains("pressure/cpu absent")
                .contains("vda (254:0) missing from diskstats");
    }

    @Test
    void corruptDiskstats_isATypedError() throws Exception {
        Path proc = tmp.resolve("proc");
        write(proc, " 254 0 vda 1 0 1\n", null, null);
        assertThatThrownBy(() -> new ProcLoadProbe(proc, List.of(new BlockDevice("vda", 254, 0)), new FakeClock()))
                .isInstanceOf(LoadProbeException.class)
                .hasMessage(proc.resolve("diskstats") + " line 1: expected at least 14 fields, found 6");
    }

    @Test
    void live_readingAFileShowsUpOnItsDevice() throws Exception {
        Path file = tmp.resolve("data.bin");
        byte[] block = new byte[1 << 20];
        new Random(7).nextBytes(block);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int i = 0; i < 32; i++) {
                ch.write(ByteBuffer.wrap(block));
            }
            ch.force(true);
        }
        DeviceSet set = DeviceResolver.system().resolve(file);
        assertThat(set.devices()).isNotEmpty();
        long read = 0;
        LoadSample s;
        try (NativeFile f = NativeFile.open(file)) {
            f.dropBehind(0, 0); // written and synced, so the whole file leaves the page cache
            ProcLoadProbe probe = ProcLoadProbe.forDevices(set, MonotonicClock.system());
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            for (int n; (n = f.read(buf.clear(), read)) > 0; ) {
                read += n;
            }
            s = probe.sample();
        }
        assertThat(read).isEqualTo(32L << 20);
        // the device saw at least our 32 MiB (others on this machine may add, never subtract)
        assertThat(s.readBytes()).isGreaterThanOrEqualTo(32L << 20);
        assertThat(s.readIos()).isPositive();
        assertThat(s.intervalNanos()).isPositive();
        assertThat(s.io().available()).isTrue();
    }

    @Test
    void sample_ownReadBytesAreTheDeltaOfSelfIo_orMinusOneWithoutIt() throws Exception {
        Path proc = tmp.resolve("proc");
        FakeClock clock = new FakeClock();
        String disk = " 254 0 vda 1000 0 8000 500 100 0 800 300 0 10000 20000\n";
        write(proc, disk, null, null);
        ProcLoadProbe probe = new ProcLoadProbe(proc, List.of(new BlockDevice("vda", 254, 0)), clock);
        clock.advanceMillis(100);
        assertThat(probe.sample().ownReadBytes()).isEqualTo(-1); // no self/io in this tree
        Files.createDirectories(proc.resolve("self"));
        Files.writeString(proc.resolve("self/io"), io(4096));
        clock.advanceMillis(100);
        assertThat(probe.sample().ownReadBytes()).isEqualTo(-1); // no earlier reading to subtract
        Files.writeString(proc.resolve("self/io"), io(4096 + 8L * 1024 * 1024));
        clock.advanceMillis(100);
        assertThat(probe.sample().ownReadBytes()).isEqualTo(8L * 1024 * 1024);
    }

    private static String io(long readBytes) {
        return "rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 0\nread_bytes: " + readBytes
                + "\nwrite_bytes: 0\ncancelled_write_bytes: 0\n";
    }

    @Test
    void parseReadBytes_rejectsMissingAndMalformedFieldsNamingFileAndLine() throws Exception {
        assertThat(ProcLoadProbe.parseReadBytes(io(123), "/proc/self/io")).isEqualTo(123);
        assertThatThrownBy(() -> ProcLoadProbe.parseReadBytes("rchar: 1\nread_bytes: -5\n", "/p/io"))
                .isInstanceOf(LoadProbeException.class)
                .hasMessageContaining("/p/io: line 2").hasMessageContaining("found '-5'");
        assertThatThrownBy(() -> ProcLoadProbe.parseReadBytes("read_bytes: 99999999999999999999\n", "/p/io"))
                .isInstanceOf(LoadProbeException.class).hasMessageContaining("line 1");
        assertThatThrownBy(() -> ProcLoadProbe.parseReadBytes("rchar: 1\n", "/p/io"))
                .isInstanceOf(LoadProbeException.class).hasMessageContaining("no");
        // a huge file is looked at only in its first lines
        String flood = "x: 1\n".repeat(100_000) + "read_bytes: 1\n";
        assertThatThrownBy(() -> ProcLoadProbe.parseReadBytes(flood, "/p/io"))
                .isInstanceOf(LoadProbeException.class);
    }
}
