package dev.coffer.agent.restore;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FileTimesTest {
    /** NTFS times run from 1601 to 30828, in 100 ns ticks; the fraction comes in groups of three digits. */
    @Test
    void iso_isInstantToString_acrossTheNtfsRange() {
        long first = Instant.parse("1601-01-01T00:00:00Z").getEpochSecond();
        long last = Instant.parse("+30828-09-14T02:48:05Z").getEpochSecond();
        Random rnd = new Random(11);
        for (int i = 0; i < 200_000; i++) {
            long sec = first + Math.floorMod(rnd.nextLong(), last - first);
            int nanos = switch (i % 5) {
                case 0 -> 0;
                case 1 -> rnd.nextInt(1000) * 1_000_000;
                case 2 -> rnd.nextInt(1_000_000) * 1000;
                case 3 -> rnd.nextInt(10_000_000) * 100; // an NTFS tick
                default -> rnd.nextInt(1_000_000_000);
            };
            Instant t = Instant.ofEpochSecond(sec, nanos);
            assertThat(FileTimes.iso(t)).as("%d.%09d", sec, nanos).isEqualTo(t.toString());
        }
        for (String s : new String[] {"1601-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z",
                "2000-02-29T12:00:05.120Z", "9999-12-31T23:59:59.000001Z", "+10000-01-01T00:00:00Z"}) {
            assertThat(FileTimes.iso(Instant.parse(s))).isEqualTo(s);
        }
    }
}
