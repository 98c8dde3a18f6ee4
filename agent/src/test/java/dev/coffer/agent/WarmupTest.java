package dev.coffer.agent;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which warm-up a command line gets hangs on reading its options as picocli does. */
class WarmupTest {
    @Test
    void option_isFoundInBothSpellings_andNotPastTheEndOfOptions() {
        assertThat(Warmup.option(new String[] {"restore", "--socket", "/run/q.sock", "latest:/x", "--to", "d"}, "--socket"))
                .isTrue();
        assertThat(Warmup.option(new String[] {"restore", "--socket=/run/q.sock", "latest:/x"}, "--socket")).isTrue();
        assertThat(Warmup.option(new String[] {"restore", "--sockets", "latest:/x"}, "--socket")).isFalse();
        assertThat(Warmup.option(new String[] {"restore", "--catalog", "c.db", "latest:/x"}, "--socket")).isFalse();
        assertThat(Warmup.option(new String[] {"restore", "--", "--socket"}, "--socket")).isFalse();
    }
}
