package dev.coffer.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link PlainJson} prints what the object mapper ({@link Json#print}) prints for the same plain values. */
class PlainJsonTest {

    @Test
    void printsWhatTheObjectMapperPrints() throws Exception {
        Map<String, Object> disk = new LinkedHashMap<>();
        disk.put("slot", "scsi0:0");
        disk.put("file", "/ds/vm \"a\"/disk\t1.vmdk");
        disk.put("ok", false);
        disk.put("error", "disk.vmdk at 0x200: bad magic \u0000\u001f \\ \u00e9\u4e2d\ud83d\ude00 \u2028");
        disk.put("warnings", List.of("one", "two\nlines"));
        disk.put("none", null);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backup", 42L);
        m.put("vm", "Caf\u00e9 </script>");
        m.put("complete", true);
        m.put("seconds", 3.871);
        m.put("whole", 2.0);
        m.put("tiny", 1.0E-7);
        m.put("files", 20_011);
        m.put("bytesSent", Long.MAX_VALUE);
        m.put("negative", -1L);
        m.put("ratio", 0.5f);
        m.put("empty", List.of());
        m.put("emptyObject", Map.of());
        m.put("disks", List.of(disk, Map.of("slot", "ide0:0")));
        m.put("mixed", new ArrayList<>(Arrays.asList(1, "x", null, List.of(List.of()))));

        assertThat(plain(m)).isEqualTo(mapper(m));
        // the compact form a request to the agent is sent in: what the mapper writes without indenting
        assertThat(PlainJson.text(m)).isEqualTo(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(m));
    }

    @Test
    void printsATopLevelListOrValue() throws Exception {
        assertThat(plain(List.of(1L, 2L))).isEqualTo(mapper(List.of(1L, 2L)));
        assertThat(plain("just text")).isEqualTo(mapper("just text"));
        assertThat(plain(null)).isEqualTo(mapper(null));
    }

    @Test
    void refusesWhatIsNotAPlainValue() {
        Map<String, Object> m = Map.of("file", Path.of("/x"));
        assertThatThrownBy(() -> plain(m))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a plain JSON value");
    }

    private static String plain(Object v) throws Exception {
        StringWriter s = new StringWriter();
        PlainJson.print(new PrintWriter(s), v);
        return s.toString();
    }

    private static String mapper(Object v) throws Exception {
        StringWriter s = new StringWriter();
        Json.print(new PrintWriter(s), v);
        return s.toString();
    }
}
