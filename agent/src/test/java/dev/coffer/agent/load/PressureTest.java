package dev.coffer.agent.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class PressureTest {
    /** Captured on this VM. */
    static final String IO = """
            some avg10=0.08 avg60=0.20 avg300=0.42 total=4565841
            full avg10=0.00 avg60=0.15 avg300=0.40 total=4377185
            """;
    /** Kernels 4.20-5.12 print no full line for cpu. */
    static final String OLD_CPU = "some avg10=1.45 avg60=2.50 avg300=1.94 total=12934007\n";

    @Test
    void parse_capturedIo() throws Exception {
        Pressure p = Pressure.parse(IO, "/proc/pressure/io");
        assertThat(p.some()).isEqualTo(new Pressure.Line(0.08, 0.20, 0.42, 4565841));
        assertThat(p.full()).isEqualTo(new Pressure.Line(0.00, 0.15, 0.40, 4377185));
    }

    @Test
    void parse_cpuWithoutFullLine() throws Exception {
        Pressure p = Pressure.parse(OLD_CPU, "/proc/pressure/cpu");
        assertThat(p.some().totalMicros()).isEqualTo(12934007);
        assertThat(p.full()).isNull();
    }

    @Test
    void parse_rejectsMalformedText() {
        assertThatThrownBy(() -> Pressure.parse("full avg10=0 avg60=0 avg300=0 total=1\n", "p"))
                .isInstanceOf(LoadProbeException.class).hasMessage("p: expected a 'some' line, found none");
        assertThatThrownBy(() -> Pressure.parse("some avg10=0.1 avg60=x avg300=0 total=1\n", "p"))
                .hasMessage("p line 1 avg60: expected a number, found 'x'");
        assertThatThrownBy(() -> Pressure.parse("some avg10=101 avg60=0 avg300=0 total=1\n", "p"))
                .hasMessage("p line 1 avg10: expected a number, found '101'");
        assertThatThrownBy(() -> Pressure.parse("some avg10=1 avg60=0 total=1\n", "p"))
                .hasMessageContaining("expected avg10, avg60, avg300 and total");
        assertThatThrownBy(() -> Pressure.parse("most avg10=1\n", "p"))
                .hasMessage("p line 1: expected 'some' or 'full', found 'most'");
        assertThatThrownBy(() -> Pressure.parse("x".repeat(5000), "p"))
                .hasMessageContaining("expected at most 4096");
    }

    @Test
    void delta_sharesOfTheInterval() throws Exception {
        Pressure a = Pressure.parse(IO, "a");
        Pressure b = Pressure.parse(IO.replace("4565841", "4690841").replace("4377185", "4402185"), "b");
        PressureDelta d = PressureDelta.between(a, b);
        assertThat(d.someStallMicros()).isEqualTo(125_000);
        assertThat(d.fullStallMicros()).isEqualTo(25_000);
        assertThat(d.someShare(250_000_000L)).isEqualTo(0.5);
        assertThat(d.fullShare(250_000_000L)).isEqualTo(0.1);
    }

    @Test
    void parse_liveProcPressure() throws Exception {
        // this kernel has PSI (the live load test depends on it too)
        Pressure io = Pressure.parse(Files.readString(Path.of("/proc/pressure/io")), "/proc/pressure/io");
        Pressure cpu = Pressure.parse(Files.readString(Path.of("/proc/pressure/cpu")), "/proc/pressure/cpu");
        assertThat(io.some().totalMicros()).isGreaterThanOrEqualTo(io.full().totalMicros());
        assertThat(cpu.some().totalMicros()).isPositive();
    }
}
