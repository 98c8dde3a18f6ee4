package dev.coffer.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Proves each recipe builds what it claims, checked by the tools themselves (fls, qemu-img, sfdisk). */
class FixturesTest {

    @Test
    void ntfsSmall_flsListsEveryFileTheRecipeWrote() throws IOException {
        Path dir = Fixtures.build("ntfs-small");
        Path volume = dir.resolve("volume.raw");
        assertThat(Fixtures.run("file", "-b", volume.toString())).contains("NTFS");

        String fls = Fixtures.run("fls", "-r", "-p", "-u", volume.toString());
        Set<String> listed = fls.lines()
                .filter(l -> l.startsWith("r/r"))
                .map(l -> l.substring(l.indexOf('\t') + 1))
                .collect(Collectors.toSet());
        List<String> written = Files.readAllLines(dir.resolve("files.txt")).stream()
                .map(l -> l.substring(0, l.indexOf('\t')))
                .toList();
        assertThat(written).hasSizeGreaterThan(30).contains("Users/alice/Résumé – 2026.txt");
        assertThat(listed).containsAll(written).contains("Documents/hello.txt:Zone.Identifier");
    }

    @Test
    void ntfsSmall_honoursClusterSize() {
        Path volume = Fixtures.build("ntfs-small", "65536", "32").resolve("volume.raw");
        assertThat(Fixtures.run("fsstat", volume.toString())).contains("Cluster Size: 65536");
    }

    @Test
    void vmdkSet_qemuReportsEverySubformatAndTheChain() {
        Path dir = Fixtures.build("vmdk-set", "mbr");
        for (String fmt : List.of("monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse",
                "twoGbMaxExtentFlat", "streamOptimized")) {
            Path vmdk = dir.resolve(fmt).resolve("disk.vmdk");
            assertThat(Fixtures.run("qemu-img", "info", vmdk.toString()))
                    .as(fmt).contains("create type: " + fmt);
            // same bytes as the raw disk they were made from
            Fixtures.run("qemu-img", "compare", "-f", "vmdk", "-F", "raw", vmdk.toString(),
                    dir.resolve("disk.raw").toString());
        }
        Path leaf = dir.resolve("chain").resolve("snap2.vmdk");
        String chain = Fixtures.run("qemu-img", "info", "--backing-chain", leaf.toString());
        assertThat(chain).contains("backing file: snap1.vmdk").contains("backing file: base.vmdk");
        Fixtures.run("qemu-img", "compare", "-f", "vmdk", "-F", "raw", leaf.toString(),
                dir.resolve("chain").resolve("snap2.raw").toString());
        // the leaf delta holds only the changed grains, not a full copy
        String map = Fixtures.run("qemu-img", "map", "--output=json", leaf.toString());
        assertThat(map).contains("\"depth\": 2");
    }

    @Test
    void disk_gptAndMbrCarryTheStatedPartitions() throws IOException {
        for (String scheme : List.of("mbr", "gpt")) {
            Path dir = Fixtures.build("disk", scheme);
            String dump = Fixtures.run("sfdisk", "-d", dir.resolve("disk.raw").toString());
            assertThat(dump).contains(scheme.equals("mbr") ? "label: dos" : "label: gpt");
            for (String line : Files.readAllLines(dir.resolve("partitions.txt"))) {
                String[] f = line.split("\t");
                assertThat(dump).as(scheme + " " + Arrays.toString(f))
                        .containsPattern("start=\\s*" + f[1] + ",");
            }
        }
    }

    @Test
    void vmFolder_hasVmxNamingItsDisk() throws IOException {
        Path vm = Fixtures.build("vm-folder", "gpt", "winvm").resolve("datastore").resolve("winvm");
        assertThat(Files.readString(vm.resolve("winvm.vmx"))).contains("scsi0:0.fileName = \"winvm.vmdk\"");
        assertThat(Fixtures.run("qemu-img", "info", vm.resolve("winvm.vmdk").toString()))
                .contains("create type: monolithicSparse");
    }

    @Test
    void build_isCachedUntilTheRecipeOrArgumentsChange() throws IOException {
        Path first = Fixtures.build("ntfs-small");
        long stamp = Files.getLastModifiedTime(first.resolve("volume.raw")).toMillis();
        assertThat(Fixtures.build("ntfs-small")).isEqualTo(first);
        assertThat(Files.getLastModifiedTime(first.resolve("volume.raw")).toMillis()).isEqualTo(stamp);
        assertThat(Fixtures.build("ntfs-small", "4096", "40")).isNotEqualTo(first);
    }

    @Test
    void missingToolsAndRecipesFailLoudly() {
        assertThatThrownBy(() -> Fixtures.requireTool("no-such-tool-coffer"))
                .isInstanceOf(FixtureException.class).hasMessageContaining("no-such-tool-coffer");
        assertThatThrownBy(() -> Fixtures.build("no-such-recipe"))
                .isInstanceOf(FixtureException.class).hasMessageContaining("no-such-recipe");
        assertThatThrownBy(() -> Fixtures.run("false"))
                .isInstanceOf(FixtureException.class).hasMessageContaining("exit 1");
    }
}
