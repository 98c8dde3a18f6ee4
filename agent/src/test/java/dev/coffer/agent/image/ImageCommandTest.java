package dev.coffer.agent.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.agent.Main;
import dev.coffer.testkit.Fixtures;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code coffer image ...} end to end: {@code cat} in a separate JVM writing to a real stdout is
 * byte-identical to {@code qemu-img convert -O raw}; info/map/partitions agree with qemu-img and sfdisk;
 * a bad disk gets one line on stderr and exit code 1.
 */
class ImageCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private record Result(int code, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    private static String qemuRawMd5(Path image, Path tmp) throws IOException {
        Path raw = tmp.resolve("qemu-" + System.nanoTime() + ".raw");
        Fixtures.run("qemu-img", "convert", "-O", "raw", image.toString(), raw.toString());
        String md5 = Fixtures.md5(raw);
        Files.delete(raw);
        return md5;
    }

    /** Runs {@code coffer image cat} in its own JVM with stdout redirected to a file; returns the file's MD5. */
    private String catInChildJvm(Path image, String... extra) throws Exception {
        Path out = tmp.resolve("cat-" + System.nanoTime() + ".raw");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "image", "cat"));
        cmd.addAll(List.of(extra));
        cmd.add(image.toString());
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        assertThat(p.waitFor()).as("exit code").isZero();
        String md5 = Fixtures.md5(out);
        Files.delete(out);
        return md5;
    }

    @Test
    void cat_everySubformatAndChainIsByteIdenticalToQemuImgConvert() throws Exception {
        Path dir = Fixtures.build("vmdk-set", "mbr");
        for (String fmt : List.of("monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                "streamOptimized")) {
            Path vmdk = dir.resolve(fmt).resolve("disk.vmdk");
            assertThat(catInChildJvm(vmdk)).as(fmt).isEqualTo(qemuRawMd5(vmdk, tmp));
        }
        Path leaf = dir.resolve("chain/snap2.vmdk");
        assertThat(catInChildJvm(leaf, "--threads", "1")).isEqualTo(qemuRawMd5(leaf, tmp))
                .isEqualTo(Fixtures.md5(dir.resolve("chain/snap2.raw")));
        assertThat(catInChildJvm(leaf, "--threads", "3")).isEqualTo(qemuRawMd5(leaf, tmp));
    }

    @Test
    void cat_toFileWithOutputOption() throws IOException {
        Path dir = Fixtures.build("vmdk-set", "gpt");
        Path out = tmp.resolve("out.raw");
        Result r = run("image", "cat", "-o", out.toString(), dir.resolve("twoGbMaxExtentSparse/disk.vmdk").toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(Fixtures.md5(out)).isEqualTo(Fixtures.md5(dir.resolve("disk.raw")));
    }

    @Test
    void info_jsonReportsWhatQemuImgReports() throws IOException {
        Path leaf = Fixtures.build("vmdk-set", "mbr").resolve("chain/snap2.vmdk");
        Result r = run("image", "info", "--json", leaf.toString());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode doc = JSON.readTree(r.out());
        String qemu = Fixtures.run("qemu-img", "info", "--output=json", "--backing-chain", leaf.toString());
        Matcher size = Pattern.compile("\"virtual-size\": (\\d+)").matcher(qemu);
        assertThat(size.find()).isTrue();
        assertThat(doc.get("capacity").asLong()).isEqualTo(Long.parseLong(size.group(1)));
        assertThat(doc.get("createType").asText()).isEqualTo("monolithicSparse");
        assertThat(doc.get("grainSize").asLong()).isEqualTo(65536);
        JsonNode chain = doc.get("chain");
        assertThat(chain).hasSize(3);
        assertThat(chain.get(2).get("path").asText()).endsWith("base.vmdk");
        assertThat(chain.get(0).get("parentCid").asText()).isEqualTo(chain.get(1).get("cid").asText());
        assertThat(chain.get(0).get("ddb").get("ddb.adapterType").asText()).isEqualTo("ide");
        assertThat(chain.get(0).get("extents").get(0).get("type").asText()).isEqualTo("SPARSE");
        // allocated bytes of the leaf = the depth-0 data qemu-img map reports
        long leafData = 0;
        Matcher m = Pattern.compile("\"length\": (\\d+), \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true")
                .matcher(Fixtures.run("qemu-img", "map", "--output=json", leaf.toString()));
        while (m.find()) {
            leafData += Long.parseLong(m.group(1));
        }
        assertThat(doc.get("allocatedBytes").asLong()).isEqualTo(leafData).isPositive();
        Result text = run("image", "info", leaf.toString());
        assertThat(text.out()).contains("createType: monolithicSparse").contains("chain:      3 layers");
    }

    @Test
    void map_jsonLeafRangesAreTheGrainsQemuPutsAtDepthZero() throws IOException {
        Path leaf = Fixtures.build("vmdk-set", "mbr").resolve("chain/snap2.vmdk");
        JsonNode doc = JSON.readTree(run("image", "map", "--json", "--leaf", leaf.toString()).out());
        long data = 0;
        for (JsonNode r : doc.get("ranges")) {
            if (r.get("kind").asText().equals("data")) {
                assertThat(r.get("layer").asInt()).isZero();
                data += r.get("length").asLong();
            } else {
                assertThat(r.get("kind").asText()).isEqualTo("unallocated");
            }
        }
        JsonNode info = JSON.readTree(run("image", "info", "--json", leaf.toString()).out());
        assertThat(data).isEqualTo(info.get("allocatedBytes").asLong());
        JsonNode all = JSON.readTree(run("image", "map", "--json", leaf.toString()).out());
        long total = 0;
        for (JsonNode r : all.get("ranges")) {
            total += r.get("length").asLong();
        }
        assertThat(total).isEqualTo(info.get("capacity").asLong());
        assertThat(run("image", "map", leaf.toString()).out()).contains("snap2.vmdk").contains("base.vmdk");
    }

    @Test
    void partitions_jsonAgreesWithSfdisk() throws IOException {
        for (String scheme : List.of("mbr", "gpt")) {
            Path dir = Fixtures.build("vmdk-set", scheme);
            JsonNode doc = JSON.readTree(run("image", "partitions", "--json",
                    dir.resolve("streamOptimized/disk.vmdk").toString()).out());
            assertThat(doc.get("scheme").asText()).isEqualTo(scheme.toUpperCase());
            String sfdisk = Fixtures.run("sfdisk", "-d", dir.resolve("disk.raw").toString());
            for (JsonNode p : doc.get("partitions")) {
                assertThat(sfdisk).containsPattern("disk\\.raw" + p.get("index").asInt() + " : start=\\s*"
                        + p.get("offset").asLong() / 512 + ", size=\\s*" + p.get("length").asLong() / 512 + ",");
            }
            assertThat(doc.get("partitions").get(0).get("kind").asText()).isEqualTo("ntfs/basic-data");
        }
        Path raw = Fixtures.build("disk", "mbr").resolve("disk.raw");
        assertThat(run("image", "partitions", "--raw", raw.toString()).out()).contains("extended").contains("linux");
    }

    @Test
    void badDisksGetOneLineNamingFileAndOffset() throws IOException {
        Path junk = tmp.resolve("junk.vmdk");
        Files.writeString(junk, "not a disk at all\n");
        Result r = run("image", "info", junk.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().lines()).singleElement().asString().startsWith("coffer: " + junk + ": not a VMDK");
        Path bad = tmp.resolve("bad.vmdk");
        Files.copy(Fixtures.build("vmdk-set", "mbr").resolve("monolithicSparse/disk.vmdk"), bad);
        try (var ch = java.nio.channels.FileChannel.open(bad, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0x10, 0, 0}), 0x2C); // numGTEsPerGT = 4096
        }
        Result c = run("image", "cat", "-o", tmp.resolve("x.raw").toString(), bad.toString());
        assertThat(c.code()).isEqualTo(1);
        assertThat(c.err().lines()).singleElement().asString()
                .isEqualTo("coffer: " + bad + " at 0x2c: numGTEsPerGT 4096, expected 1..512");
        Result missing = run("image", "map", tmp.resolve("nope.vmdk").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).startsWith("coffer: no such file: ");
    }
}
