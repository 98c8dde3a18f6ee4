package dev.coffer.agent.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.coffer.agent.restore.NameMapping.Reason;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SafeNamesTest {
    /** Characters hostile names are built from: separators, dots, spaces, NUL, controls, Windows-reserved, surrogates, non-ASCII. */
    private static final char[] NASTY = {'a', 'B', '.', '.', ' ', '/', '\\', '\0', '\u0001', '\u001f', '\u007f', ':', '*',
        '?', '"', '<', '>', '|', '\ud800', '\udc00', '\ud83d', '\ude00', 'é', '\u4e2d', 'C', 'O', 'N', 'L', 'P', 'T', '1',
        '~', '%', '$'};

    private static String safe(String name, Set<Reason> reasons) {
        return SafeNames.safeComponent(name, reasons);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''|_|EMPTY",
        ".|_|DOT_NAME",
        "..|__|DOT_NAME",
        "a/b|a_b|SEPARATOR",
        "a\\b|a_b|SEPARATOR",
        "CON|_CON|RESERVED_DEVICE",
        "con.txt|_con.txt|RESERVED_DEVICE",
        "LPT1.tar.gz|_LPT1.tar.gz|RESERVED_DEVICE",
        "nul .txt|_nul .txt|RESERVED_DEVICE",
        "Com9|_Com9|RESERVED_DEVICE",
        "conin$|_conin$|RESERVED_DEVICE",
        "file.|file_|TRAILING_DOT_SPACE",
        "file. .|file___|TRAILING_DOT_SPACE",
        "a:b|a_b|RESERVED_CHARACTER",
        "what?|what_|RESERVED_CHARACTER",
    })
    void safeComponent_mapsNastyNames(String name, String expected, Reason reason) {
        Set<Reason> reasons = EnumSet.noneOf(Reason.class);
        assertThat(safe(name, reasons)).isEqualTo(expected);
        assertThat(reasons).containsExactly(reason);
    }

    @Test
    void safeComponent_mapsNulControlsAndLoneSurrogates() {
        Set<Reason> r = EnumSet.noneOf(Reason.class);
        assertThat(safe("a\0b\u0007c\ud800d\udfffe", r)).isEqualTo("a_b_c_d_e");
        assertThat(r).containsExactlyInAnyOrder(Reason.NUL, Reason.CONTROL, Reason.INVALID_UNICODE);
    }

    @Test
    void safeComponent_keepsOrdinaryNamesAndSurrogatePairs() {
        for (String ok : List.of("report.docx", "CONSOLE", "COM10", "LPT", "con-artist.txt", ".hidden", "a b",
                "\ud83d\ude00 smile.txt", "中文.txt", "..x", "x..y")) {
            Set<Reason> r = EnumSet.noneOf(Reason.class);
            assertThat(safe(ok, r)).as(ok).isEqualTo(ok);
            assertThat(r).as(ok).isEmpty();
        }
    }

    @Test
    void safeComponent_shortensLongNamesKeepingExtensionAndDistinctness() {
        String a = "a".repeat(300) + ".txt";
        String b = "a".repeat(299) + "b.txt";
        Set<Reason> r = EnumSet.noneOf(Reason.class);
        String sa = safe(a, r);
        String sb = safe(b, EnumSet.noneOf(Reason.class));
        assertThat(r).containsExactly(Reason.TOO_LONG);
        assertThat(sa.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(255);
        assertThat(sa).endsWith(".txt").contains("~").isNotEqualTo(sb);
        // multi-byte characters are never cut in half
        String wide = "é".repeat(200);
        String sw = safe(wide, EnumSet.noneOf(Reason.class));
        assertThat(sw.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(255);
        assertThat(new String(sw.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)).isEqualTo(sw);
    }

    /** Property: whatever the name, the result is safe, stable, and unchanged exactly when no reason is given. */
    @Test
    void safeComponent_propertyOverRandomNastyNames() {
        Random rnd = new Random(0xC0FFEE);
        for (int i = 0; i < 50_000; i++) {
            String name = nastyName(rnd);
            Set<Reason> reasons = EnumSet.noneOf(Reason.class);
            String s = safe(name, reasons);
            assertSafe(s, name);
            assertThat(reasons.isEmpty()).as("reasons for %s", escape(name)).isEqualTo(s.equals(name));
            Set<Reason> again = EnumSet.noneOf(Reason.class);
            assertThat(safe(s, again)).as("idempotent for %s", escape(name)).isEqualTo(s);
            assertThat(again).isEmpty();
        }
    }

    static void assertSafe(String s, String from) {
        String what = "mapping of " + escape(from) + " -> " + escape(s);
        assertThat(s).as(what).isNotEmpty().isNotEqualTo(".").isNotEqualTo("..");
        assertThat(SafeNames.utf8Length(s)).as(what).isLessThanOrEqualTo(255);
        assertThat(s.getBytes(StandardCharsets.UTF_8).length).as(what).isEqualTo(SafeNames.utf8Length(s));
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            assertThat(c >= 0x20 && c != 0x7f && "/\\<>:\"|?*".indexOf(c) < 0).as(what).isTrue();
            if (Character.isHighSurrogate(c)) {
                assertThat(Character.isLowSurrogate(s.charAt(++i))).as(what).isTrue();
            } else {
                assertThat(Character.isLowSurrogate(c)).as(what).isFalse();
            }
        }
        assertThat(s.charAt(s.length() - 1)).as(what).isNotIn('.', ' ');
        String stem = s.split("\\.", -1)[0].stripTrailing().toUpperCase(Locale.ROOT);
        assertThat(stem).as(what).isNotIn("CON", "PRN", "AUX", "NUL", "COM1", "COM9", "LPT1", "LPT9", "CONIN$", "CONOUT$");
    }

    private static String nastyName(Random rnd) {
        int len = rnd.nextInt(10) == 0 ? 200 + rnd.nextInt(200) : rnd.nextInt(12);
        StringBuilder sb = new StringBuilder();
        if (rnd.nextInt(8) == 0) {
            sb.append(List.of("CON", "nul", "Lpt3", "com7", "AUX", "prn", ".", "..", ".coffer-restore").get(rnd.nextInt(9)));
        }
        for (int i = 0; i < len; i++) {
            sb.append(NASTY[rnd.nextInt(NASTY.length)]);
        }
        return sb.toString();
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            sb.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return sb.toString();
    }

    @Test
    void map_disambiguatesNamesThatDifferOnlyByCaseOnCaseInsensitiveTargets() throws Exception {
        SafeNames ci = new SafeNames(true);
        SafeNames.MappedPath a = ci.map(List.of("Docs", "Report.TXT"), null);
        SafeNames.MappedPath b = ci.map(List.of("docs", "report.txt"), null);
        SafeNames.MappedPath a2 = ci.map(List.of("Docs", "Report.TXT"), null);
        assertThat(a.components()).containsExactly("Docs", "Report.TXT");
        assertThat(a.mappings()).isEmpty();
        assertThat(b.components()).containsExactly("docs~2", "report.txt");
        assertThat(b.mappings()).containsExactly(new NameMapping("docs", "docs~2", Set.of(Reason.COLLISION)));
        assertThat(a2).isEqualTo(a);
        // the same names on a case-sensitive target are left alone
        SafeNames cs = new SafeNames(false);
        assertThat(cs.map(List.of("Docs", "Report.TXT"), null).mappings()).isEmpty();
        assertThat(cs.map(List.of("docs", "report.txt"), null).mappings()).isEmpty();
    }

    @Test
    void map_disambiguatesDistinctNamesThatMapToTheSameSafeName() throws Exception {
        SafeNames n = new SafeNames(false);
        SafeNames.MappedPath colon = n.map(List.of("dir", "a:b.txt"), null);
        SafeNames.MappedPath underscore = n.map(List.of("dir", "a_b.txt"), null);
        assertThat(colon.components()).containsExactly("dir", "a_b.txt");
        assertThat(underscore.components()).containsExactly("dir", "a_b~2.txt");
        assertThat(underscore.mappings().get(0).reasons()).containsExactly(Reason.COLLISION);
    }

    @Test
    void map_reservesTheWorkDirectoryAndMapsStreams() throws Exception {
        SafeNames n = new SafeNames(false);
        SafeNames.MappedPath work = n.map(List.of(".coffer-restore", "partial", "x.part"), null);
        assertThat(work.components().get(0)).isEqualTo("_.coffer-restore");
        assertThat(work.mappings().get(0).reasons()).containsExactly(Reason.RESERVED_NAME);
        SafeNames.MappedPath ads = n.map(List.of("doc.txt"), "Zone.Identifier");
        assertThat(ads.components()).containsExactly("doc.txt~Zone.Identifier.ads");
        assertThat(ads.mappings()).containsExactly(new NameMapping("doc.txt:Zone.Identifier",
                "doc.txt~Zone.Identifier.ads", Set.of(Reason.ALTERNATE_STREAM)));
    }

    @Test
    void resolveInside_refusesSymlinkedParentsAndBadComponents(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectory(tmp.resolve("root")).toRealPath();
        Path outside = Files.createDirectory(tmp.resolve("outside"));
        Files.createSymbolicLink(root.resolve("link"), outside);
        assertThatThrownBy(() -> SafeNames.resolveInside(root, List.of("link", "x"), true))
                .isInstanceOf(RestoreException.class)
                .hasMessageContaining("symbolic link")
                .extracting(e -> ((RestoreException) e).code()).isEqualTo(RestoreException.Code.UNSAFE_PATH);
        for (List<String> bad : List.of(List.of(".."), List.of("a", ".."), List.of("/etc"), List.of("a/b"), List.of(""),
                List.of("a\0b"), List.of("."))) {
            assertThatThrownBy(() -> SafeNames.resolveInside(root, bad, true)).as(bad.toString())
                    .isInstanceOf(RestoreException.class);
        }
        Files.writeString(root.resolve("file"), "x");
        assertThatThrownBy(() -> SafeNames.resolveInside(root, List.of("file", "x"), true))
                .extracting(e -> ((RestoreException) e).code()).isEqualTo(RestoreException.Code.CONFLICT);
        assertThat(SafeNames.resolveInside(root, List.of("d1", "d2", "f"), true)).isEqualTo(root.resolve("d1/d2/f"));
        assertThat(root.resolve("d1/d2")).isDirectory();
        try (Stream<Path> s = Files.list(outside)) {
            assertThat(s).isEmpty();
        }
    }

    /** Property: random nasty paths restored for real never put anything outside the root. */
    @Test
    void directoryTarget_neverWritesOutsideRoot(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectory(tmp.resolve("root"));
        Path outside = Files.createDirectory(tmp.resolve("outside"));
        Files.createSymbolicLink(root.resolve("escape"), outside);
        Random rnd = new Random(42);
        List<String> refused = new ArrayList<>();
        Set<String> written = new HashSet<>();
        try (DirectoryTarget t = DirectoryTarget.open(root, DirectoryTarget.Options.defaults())) {
            for (int i = 0; i < 400; i++) {
                List<String> path = new ArrayList<>();
                int depth = 1 + rnd.nextInt(4);
                for (int d = 0; d < depth; d++) {
                    path.add(switch (rnd.nextInt(6)) {
                        case 0 -> "..";
                        case 1 -> "escape";
                        case 2 -> "../../outside";
                        case 3 -> "/tmp";
                        default -> nastyName(rnd);
                    });
                }
                byte[] content = ("file " + i).getBytes(StandardCharsets.UTF_8);
                RestoreFile f = TestData.file(path, content, ExistingPolicy.RENAME);
                try {
                    Upload u = t.begin(f);
                    t.write(u, 0, java.nio.ByteBuffer.wrap(content));
                    CommitResult r = t.commit(u);
                    Path p = root.toRealPath().resolve(r.path());
                    assertThat(p.normalize()).startsWith(root.toRealPath());
                    assertThat(Files.readString(p)).isEqualTo("file " + i);
                    assertThat(written.add(r.path())).as("distinct final path %s", r.path()).isTrue();
                    for (String c : r.path().split("/")) {
                        assertSafe(c, String.join("/", path));
                    }
                } catch (RestoreException e) {
                    assertThat(e.code()).as(e.getMessage()).isIn(RestoreException.Code.UNSAFE_PATH,
                            RestoreException.Code.CONFLICT);
                    refused.add(e.getMessage());
                }
            }
        }
        try (Stream<Path> s = Files.walk(outside)) {
            assertThat(s).containsExactly(outside);
        }
        assertThat(refused).as("paths through the planted symlink are refused").isNotEmpty()
                .allSatisfy(m -> assertThat(m).containsAnyOf("symbolic link", "expected a directory"));
        assertThat(written).hasSizeGreaterThan(200);
    }

    @Test
    void directoryTarget_overwritesASymlinkInsteadOfWritingThroughIt(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectory(tmp.resolve("root"));
        Path victim = Files.writeString(tmp.resolve("victim"), "keep me");
        Files.createSymbolicLink(root.resolve("f.txt"), victim);
        byte[] content = "restored".getBytes(StandardCharsets.UTF_8);
        try (DirectoryTarget t = DirectoryTarget.open(root, DirectoryTarget.Options.defaults())) {
            Upload u = t.begin(TestData.file(List.of("f.txt"), content, ExistingPolicy.OVERWRITE));
            t.write(u, 0, java.nio.ByteBuffer.wrap(content));
            assertThat(t.commit(u).outcome()).isEqualTo(CommitResult.Outcome.OVERWRITTEN);
        }
        assertThat(Files.readString(victim)).isEqualTo("keep me");
        assertThat(Files.isSymbolicLink(root.resolve("f.txt"))).isFalse();
        assertThat(Files.readString(root.resolve("f.txt"), StandardCharsets.UTF_8)).isEqualTo("restored");
    }

    @Test
    void probeCaseInsensitive_isFalseOnThisFileSystem(@TempDir Path tmp) throws IOException {
        // ext4/tmpfs here are case-sensitive; the probe leaves nothing behind
        assertThat(SafeNames.probeCaseInsensitive(tmp)).isFalse();
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s).isEmpty();
        }
        assertThat(Files.exists(tmp, LinkOption.NOFOLLOW_LINKS)).isTrue();
    }

    /** PathCodec: every string, lone surrogates included, survives encode/decode, and the encoding has no separators. */
    @Test
    void pathCodec_roundTripsNastyNames() throws Exception {
        Random rnd = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            String name = nastyName(rnd);
            String enc = PathCodec.encode(name);
            assertThat(enc).doesNotContain("/", "?", "#", " ", "&", "=");
            assertThat(PathCodec.decode(enc)).isEqualTo(name);
        }
        assertThat(PathCodec.decodePath("a/%2E%2E/b")).containsExactly("a", "..", "b");
        for (String bad : List.of("%", "%4", "%GG", "%C0%80", "%ED%A0", "a b", "%FF")) {
            assertThatThrownBy(() -> PathCodec.decode(bad)).as(bad).isInstanceOf(RestoreException.class);
        }
    }
}
