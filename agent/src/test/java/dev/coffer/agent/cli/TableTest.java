package dev.coffer.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Sizes and decimals print as {@code String.format} would print them, without its Formatter. */
class TableTest {
    @Test
    void fixed_printsAsFormatDoes() {
        Random rnd = new Random(7);
        double[] edges = {0, 0.05, 0.15, 0.25, 0.35, 0.45, 0.95, 0.995, 1.005, 1.25, 2.675, 99.95, 99.99, 100.5,
                1023.95, 1e-3, 123456.789};
        for (double v : edges) {
            for (int places = 0; places <= 2; places++) {
                assertThat(Table.fixed(v, places)).as("%s with %d places", v, places)
                        .isEqualTo(String.format(Locale.ROOT, "%." + places + "f", v));
            }
        }
        for (int i = 0; i < 20_000; i++) {
            double v = rnd.nextInt(4) == 0 ? rnd.nextInt(20_000) / 100.0 : rnd.nextDouble() * 1100;
            int places = rnd.nextInt(3);
            assertThat(Table.fixed(v, places)).as("%s with %d places", v, places)
                    .isEqualTo(String.format(Locale.ROOT, "%." + places + "f", v));
        }
    }

    @Test
    void bytes_useBinaryUnits_oneDecimalBelow100() {
        assertThat(Table.bytes(0)).isEqualTo("0 B");
        assertThat(Table.bytes(1023)).isEqualTo("1023 B");
        assertThat(Table.bytes(1024)).isEqualTo("1.0 KiB");
        assertThat(Table.bytes(1536)).isEqualTo("1.5 KiB");
        assertThat(Table.bytes(50L << 20)).isEqualTo("50.0 MiB");
        assertThat(Table.bytes(100L << 20)).isEqualTo("100 MiB");
        assertThat(Table.bytes((1L << 30) - 1)).isEqualTo("1024 MiB");
        assertThat(Table.bytes(5L << 40)).isEqualTo("5.0 TiB");
        assertThat(Table.bytes(Long.MAX_VALUE)).isEqualTo("8.0 EiB");
    }
}
