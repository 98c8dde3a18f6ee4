package dev.coffer.agent.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MountInfoTest {
    static final String CAPTURED = """
            22 27 0:21 / /proc rw,relatime - proc proc rw
            27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
            25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683656k
            36 35 98:0 /mnt1 /mnt/my\\040data rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue
            """;

    @Test
    void parse_capturedLines_withOptionalFieldsAndEscapes() throws Exception {
        List<MountInfo> all = MountInfo.parseAll(CAPTURED, "mountinfo");
        assertThat(all).hasSize(4);
        assertThat(all.get(1)).isEqualTo(new MountInfo(27, 1, 254, 0, "/", "/", "ext4", "/dev/vda"));
        assertThat(all.get(2).fsType()).isEqualTo("tmpfs");
        assertThat(all.get(2).major()).isZero();
        MountInfo m = all.get(3);
        assertThat(m.mountPoint()).isEqualTo("/mnt/my data");
        assertThat(m.root()).isEqualTo("/mnt1");
        assertThat(m.fsType()).isEqualTo("ext3");
        assertThat(m.major()).isEqualTo(98);
    }

    @Test
    void parse_rejectsMalformedLines() {
        assertThatThrownBy(() -> MountInfo.parseAll("27 1 254:0 / / rw,relatime ext4 /dev/vda rw\n", "mi"))
                .isInstanceOf(LoadProbeException.class).hasMessageStartingWith("mi line 1: expected 'id parent");
        assertThatThrownBy(() -> MountInfo.parseAll("27 1 2540 / / rw - ext4 /dev/vda rw\n", "mi"))
                .hasMessage("mi line 1: expected major:minor, found '2540'");
        assertThatThrownBy(() -> MountInfo.parseAll("x 1 254:0 / / rw - ext4 /dev/vda rw\n", "mi"))
                .hasMessageStartingWith("mi line 1: expected numeric ids");
    }

    @Test
    void unescape_keepsMalformedEscapes() {
        assertThat(MountInfo.unescape("a\\134b")).isEqualTo("a\\b");
        assertThat(MountInfo.unescape("a\\9b")).isEqualTo("a\\9b");
        assertThat(MountInfo.unescape("end\\04")).isEqualTo("end\\04");
    }

    @Test
    void parse_liveMountinfo() throws Exception {
        String text = Files.readString(Path.of("/proc/self/mountinfo"));
        List<MountInfo> all = MountInfo.parseAll(text, "/proc/self/mountinfo");
        assertThat(all).anySatisfy(m -> assertThat(m.mountPoint()).isEqualTo("/"));
        assertThat(all).anySatisfy(m -> assertThat(m.fsType()).isEqualTo("proc"));
    }
}
