package dev.coffer.agent.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.agent.restore.RestoreException.Code;
import dev.coffer.testkit.Fixtures;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryTargetTest {
    @TempDir
    Path root;

    private DirectoryTarget open() throws Exception {
        return DirectoryTarget.open(root, DirectoryTarget.Options.defaults());
    }

    /** Restores files through any target with parallel writers in random chunk order; returns the contents by name. */
    static List<byte[]> restoreRandomTree(RestoreTarget t, Random rnd, int files, int maxSize, int threads) throws Exception {
        List<byte[]> contents = new ArrayList<>();
        List<Upload> uploads = new ArrayList<>();
        int[] fixedSizes = {0, 1, TestData.CHUNK - 1, TestData.CHUNK, TestData.CHUNK + 1, 3 * TestData.CHUNK + 12345};
        for (int i = 0; i < files; i++) {
            int size = i < fixedSizes.length ? fixedSizes[i] : rnd.nextInt(maxSize);
            byte[] c = TestData.random(rnd, size);
            contents.add(c);
            List<String> path = List.of("tree", "d" + (i % 3), "file" + i + ".bin");
            // odd files are checked by block-tree hash (as the FLR pipeline sends them), even ones by plain SHA-256
            uploads.add(t.begin(i % 2 == 0 ? TestData.file(path, c, ExistingPolicy.OVERWRITE)
                    : TestData.treeFile(path, c, 64 << 10, ExistingPolicy.OVERWRITE)));
        }
        record Job(int file, long offset) {}
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < files; i++) {
            for (long off : TestData.shuffledOffsets(rnd, contents.get(i).length)) {
                jobs.add(new Job(i, off));
            }
        }
        java.util.Collections.shuffle(jobs, rnd);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (Job j : jobs) {
                fs.add(pool.submit(() -> {
                    t.write(uploads.get(j.file()), j.offset(), TestData.chunk(contents.get(j.file()), j.offset()));
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        for (int i = 0; i < files; i++) {
            CommitResult r = t.commit(uploads.get(i));
            assertThat(r.outcome()).isEqualTo(CommitResult.Outcome.WRITTEN);
            assertThat(r.path()).isEqualTo("tree/d" + (i % 3) + "/file" + i + ".bin");
        }
        return contents;
    }

    /** Checks bytes, SHA-256 (by the sha256sum tool) and times of restored files. */
    static void assertTree(Path root, List<byte[]> contents) throws Exception {
        for (int i = 0; i < contents.size(); i++) {
            Path p = root.resolve("tree/d" + (i % 3) + "/file" + i + ".bin");
            // times first: reading the file moves its access time (relatime)
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            assertThat(a.lastModifiedTime().toInstant()).isEqualTo(TestData.times().modified());
            assertThat(a.lastAccessTime().toInstant()).isEqualTo(TestData.times().accessed());
            assertThat(Files.readAllBytes(p)).as(p.toString()).isEqualTo(contents.get(i));
            String sum = Fixtures.run("sha256sum", p.toString()).split(" ")[0];
            assertThat(sum).isEqualTo(HexFormat.of().formatHex(TestData.sha256(contents.get(i))));
        }
    }

    /** Through the page cache (the default) and with direct writes for the files of a MiB or more. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void restore_parallelRandomOrder_bytesHashesAndTimesMatch(boolean directWrites) throws Exception {
        List<byte[]> contents;
        try (DirectoryTarget t = DirectoryTarget.open(root, DirectoryTarget.Options.defaults().withDirectWrites(directWrites))) {
            contents = restoreRandomTree(t, new Random(1), 12, 5 * TestData.CHUNK, 4);
            assertThat(t.openUploads()).isZero();
        }
        assertTree(root, contents);
        try (Stream<Path> s = Files.list(root.resolve(".coffer-restore/partial"))) {
            assertThat(s).as("no partial files or journals left").isEmpty();
        }
    }

    /** Deferred durability: commits are visible at once; close forces them (fsyncs for few files, syncfs for many). */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {9, DirectoryTarget.SYNCFS_FROM_PATHS + 10})
    void restore_durableAtClose_filesAreInPlaceBeforeAndAfterClose(int files) throws Exception {
        assertThat(FileSystemSync.syncfs(root)).as("syncfs(2) through libc").isTrue();
        List<byte[]> contents;
        try (DirectoryTarget t = DirectoryTarget.open(root,
                DirectoryTarget.Options.defaults().withDurability(DirectoryTarget.Durability.AT_CLOSE))) {
            contents = restoreRandomTree(t, new Random(7), files, 3 * TestData.CHUNK, 4);
            for (int i = 0; i < contents.size(); i++) { // in place already (sizes only: reading moves the access time)
                assertThat(root.resolve("tree/d" + (i % 3) + "/file" + i + ".bin")).hasSize(contents.get(i).length);
            }
        }
        assertTree(root, contents);
    }

    @Test
    void commit_wrongHash_isRefusedAndLeavesNoFile() throws Exception {
        byte[] c = TestData.random(new Random(2), 3 * TestData.CHUNK);
        byte[] wrong = TestData.sha256("something else".getBytes(StandardCharsets.UTF_8));
        RestoreFile f = new RestoreFile(List.of("x.bin"), null, c.length, wrong, 0, TestData.times(), 0, null, ExistingPolicy.OVERWRITE);
        try (DirectoryTarget t = open()) {
            Upload u = t.begin(f);
            for (long off : TestData.shuffledOffsets(new Random(3), c.length)) {
                t.write(u, off, TestData.chunk(c, off));
            }
            assertThatThrownBy(() -> t.commit(u)).isInstanceOf(RestoreException.class)
                    .hasMessageContaining("SHA-256 expected " + HexFormat.of().formatHex(wrong))
                    .hasMessageContaining("found " + HexFormat.of().formatHex(TestData.sha256(c)))
                    .extracting(e -> ((RestoreException) e).code()).isEqualTo(Code.HASH_MISMATCH);
            assertThat(root.resolve("x.bin")).doesNotExist();
            assertThat(t.status(f)).as("partial discarded").isEmpty();
        }
    }

    @Test
    void commit_incomplete_isRefusedAndCanBeFinished() throws Exception {
        byte[] c = TestData.random(new Random(4), 2 * TestData.CHUNK + 5);
        RestoreFile f = TestData.file(List.of("y.bin"), c, ExistingPolicy.OVERWRITE);
        try (DirectoryTarget t = open()) {
            Upload u = t.begin(f);
            t.write(u, TestData.CHUNK, TestData.chunk(c, TestData.CHUNK));
            assertThatThrownBy(() -> t.commit(u)).extracting(e -> ((RestoreException) e).code()).isEqualTo(Code.INCOMPLETE);
            t.write(u, 0, TestData.chunk(c, 0));
            t.write(u, 2L * TestData.CHUNK, TestData.chunk(c, 2L * TestData.CHUNK));
            t.commit(u);
        }
        assertThat(Files.readAllBytes(root.resolve("y.bin"))).isEqualTo(c);
    }

    @Test
    void write_outOfRangeOrOversized_isRefused() throws Exception {
        byte[] c = new byte[100];
        try (DirectoryTarget t = open()) {
            Upload u = t.begin(TestData.file(List.of("z"), c, ExistingPolicy.OVERWRITE));
            assertThatThrownBy(() -> t.write(u, 50, ByteBuffer.allocate(51))).extracting(e -> ((RestoreException) e).code())
                    .isEqualTo(Code.BAD_REQUEST);
            assertThatThrownBy(() -> t.write(u, -1, ByteBuffer.allocate(1))).extracting(e -> ((RestoreException) e).code())
                    .isEqualTo(Code.BAD_REQUEST);
            assertThatThrownBy(() -> t.write(u, Long.MAX_VALUE, ByteBuffer.allocate(1)))
                    .extracting(e -> ((RestoreException) e).code()).isEqualTo(Code.BAD_REQUEST);
            assertThatThrownBy(() -> t.write(u, 0, ByteBuffer.allocate(RestoreTarget.MAX_CHUNK_BYTES + 1)))
                    .extracting(e -> ((RestoreException) e).code()).isEqualTo(Code.LIMIT_EXCEEDED);
        }
    }

    /** A chunk sent twice (a retry) is harmless: the hash is recomputed over what is on disk. */
    @Test
    void write_sameChunkTwice_commitStillVerifies() throws Exception {
        Random rnd = new Random(5);
        byte[] c = TestData.random(rnd, 4 * TestData.CHUNK);
        RestoreFile f = TestData.file(List.of("dup.bin"), c, ExistingPolicy.OVERWRITE);
        try (DirectoryTarget t = open()) {
            Upload u = t.begin(f);
            for (long off : List.of(0L, (long) TestData.CHUNK, 0L, 3L * TestData.CHUNK, 2L * TestData.CHUNK, 3L * TestData.CHUNK)) {
                t.write(u, off, TestData.chunk(c, off));
            }
            t.commit(u);
            // and a rewrite with different bytes is caught at commit, never committed
            byte[] other = c.clone();
            other[10] ^= 1;
            Upload u2 = t.begin(TestData.file(List.of("dup2.bin"), c, ExistingPolicy.OVERWRITE));
            for (long off = 0; off < c.length; off += TestData.CHUNK) {
                t.write(u2, off, TestData.chunk(c, off));
            }
            t.write(u2, 0, TestData.chunk(other, 0));
            assertThatThrownBy(() -> t.commit(u2)).extracting(e -> ((RestoreException) e).code()).isEqualTo(Code.HASH_MISMATCH);
        }
        assertThat(Files.readAllBytes(root.resolve("dup.bin"))).isEqualTo(c);
        assertThat(root.resolve("dup2.bin")).doesNotExist();
    }

    @Test
    void existingFiles_skipOverwriteRename() throws Exception {
        Files.createDirectories(root.resolve("d"));
        Files.writeString(root.resolve("d/a.txt"), "old a");
        Files.writeString(root.resolve("d/b.txt"), "old b");
        Files.writeString(root.resolve("d/c.txt"), "old c");
        Files.writeString(root.resolve("d/c (1).txt"), "old c1");
        byte[] fresh = "fresh".getBytes(StandardCharsets.UTF_8);
        try (DirectoryTarget t = open()) {
            Upload skip = t.begin(TestData.file(List.of("d", "a.txt"), fresh, ExistingPolicy.SKIP));
            assertThat(skip.skip()).isTrue();
            assertThat(t.commit(skip).outcome()).isEqualTo(CommitResult.Outcome.SKIPPED);

            Upload over = t.begin(TestData.file(List.of("d", "b.txt"), fresh, ExistingPolicy.OVERWRITE));
            t.write(over, 0, ByteBuffer.wrap(fresh));
            assertThat(t.commit(over).outcome()).isEqualTo(CommitResult.Outcome.OVERWRITTEN);

            Upload ren = t.begin(TestData.file(List.of("d", "c.txt"), fresh, ExistingPolicy.RENAME));
            t.write(ren, 0, ByteBuffer.wrap(fresh));
            CommitResult r = t.commit(ren);
            assertThat(r.outcome()).isEqualTo(CommitResult.Outcome.RENAMED);
            assertThat(r.path()).isEqualTo("d/c (2).txt");

            // a file skipped at commit time because it appeared meanwhile
            Upload late = t.begin(TestData.file(List.of("d", "late.txt"), fresh, ExistingPolicy.SKIP));
            assertThat(late.skip()).isFalse();
            t.write(late, 0, ByteBuffer.wrap(fresh));
            Files.writeString(root.resolve("d/late.txt"), "got here first");
            assertThat(t.commit(late).outcome()).isEqualTo(CommitResult.Outcome.SKIPPED);

            Files.createDirectories(root.resolve("d/dir.txt"));
            Upload dir = t.begin(TestData.file(List.of("d", "dir.txt"), fresh, ExistingPolicy.OVERWRITE));
            t.write(dir, 0, ByteBuffer.wrap(fresh));
            assertThatThrownBy(() -> t.commit(dir)).extracting(e -> ((RestoreException) e).code()).isEqualTo(Code.CONFLICT);
        }
        assertThat(Files.readString(root.resolve("d/a.txt"))).isEqualTo("old a");
        assertThat(Files.readString(root.resolve("d/b.txt"))).isEqualTo("fresh");
        assertThat(Files.readString(root.resolve("d/c.txt"))).isEqualTo("old c");
        assertThat(Files.readString(root.resolve("d/c (1).txt"))).isEqualTo("old c1");
        assertThat(Files.readString(root.resolve("d/c (2).txt"))).isEqualTo("fresh");
        assertThat(Files.readString(root.resolve("d/late.txt"))).isEqualTo("got here first");
    }

    /** Interrupted restore: a new target instance over the same root resumes from the verified chunks only. */
    @Test
    void resume_afterReopen_onlyVerifiedChunksCount() throws Exception {
        Random rnd = new Random(6);
        byte[] c = TestData.random(rnd, 8 * TestData.CHUNK + 777);
        RestoreFile f = TestData.file(List.of("big", "resume.bin"), c, ExistingPolicy.OVERWRITE);
        List<Long> offsets = TestData.shuffledOffsets(rnd, c.length);
        List<Long> first = offsets.subList(0, 5);
        try (DirectoryTarget t = open()) {
            Upload u = t.begin(f);
            for (long off : first) {
                t.write(u, off, TestData.chunk(c, off));
            }
        } // closed without commit, like a killed process (the page cache keeps the bytes)
        String id = DirectoryTarget.uploadId(f);
        Path part = root.resolve(".coffer-restore/partial/" + id + ".part");
        // damage one written chunk on disk: it must not count as verified
        long damaged = first.get(2);
        try (FileChannel ch = FileChannel.open(part, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) ~c[(int) damaged + 100]}), damaged + 100);
        }
        // and tear the journal's last record
        Path journal = root.resolve(".coffer-restore/partial/" + id + ".journal");
        long jlen = Files.size(journal);
        try (FileChannel ch = FileChannel.open(journal, StandardOpenOption.WRITE)) {
            ch.truncate(jlen - 3);
        }
        long torn = first.get(4);
        List<Long> expectVerified = new ArrayList<>(first);
        expectVerified.remove(damaged);
        expectVerified.remove(torn);
        try (DirectoryTarget t = open()) {
            assertThat(t.status(f)).isEqualTo(ranges(c.length, expectVerified));
            Upload u = t.begin(f);
            assertThat(u.verified()).isEqualTo(ranges(c.length, expectVerified));
            int sent = 0;
            for (long off : offsets) {
                if (!covered(u.verified(), off)) {
                    t.write(u, off, TestData.chunk(c, off));
                    sent++;
                }
            }
            assertThat(sent).isEqualTo(offsets.size() - 3);
            t.commit(u);
        }
        assertThat(Files.readAllBytes(root.resolve("big/resume.bin"))).isEqualTo(c);
    }

    /** A journal for other content (the file changed between attempts) is ignored: nothing verified. */
    @Test
    void resume_differentContent_startsOver() throws Exception {
        byte[] c = TestData.random(new Random(8), 2 * TestData.CHUNK);
        try (DirectoryTarget t = open()) {
            Upload u = t.begin(TestData.file(List.of("v.bin"), c, ExistingPolicy.OVERWRITE));
            t.write(u, 0, TestData.chunk(c, 0));
        }
        byte[] c2 = c.clone();
        c2[0] ^= 1;
        try (DirectoryTarget t = open()) {
            RestoreFile f2 = TestData.file(List.of("v.bin"), c2, ExistingPolicy.OVERWRITE);
            assertThat(t.status(f2)).isEmpty();
            Upload u = t.begin(f2);
            assertThat(u.verified()).isEmpty();
            t.write(u, 0, TestData.chunk(c2, 0));
            t.write(u, TestData.CHUNK, TestData.chunk(c2, TestData.CHUNK));
            t.commit(u);
        }
        assertThat(Files.readAllBytes(root.resolve("v.bin"))).isEqualTo(c2);
    }

    static List<ByteRange> ranges(long size, List<Long> chunkOffsets) {
        RangeSet s = new RangeSet();
        for (long off : chunkOffsets) {
            s.add(off, Math.min(TestData.CHUNK, size - off));
        }
        return s.toList();
    }

    static boolean covered(List<ByteRange> ranges, long off) {
        for (ByteRange r : ranges) {
            if (off >= r.offset() && off < r.end()) {
                return true;
            }
        }
        return false;
    }

    @Test
    void metadata_goesToXattrsOrSidecar() throws Exception {
        byte[] c = "content".getBytes(StandardCharsets.UTF_8);
        byte[] sd = TestData.random(new Random(9), 300);
        RestoreFile f = new RestoreFile(List.of("m.txt"), null, c.length, TestData.sha256(c), 0, TestData.times(), 0x21, sd,
                ExistingPolicy.OVERWRITE);
        try (DirectoryTarget t = open()) {
            Upload u = t.begin(f);
            t.write(u, 0, ByteBuffer.wrap(c));
            assertThat(t.commit(u).metadata()).isEqualTo(CommitResult.Metadata.XATTR);
        }
        UserDefinedFileAttributeView view = Files.getFileAttributeView(root.resolve("m.txt"), UserDefinedFileAttributeView.class);
        assertThat(xattr(view, "coffer.ntfs.attributes").order(ByteOrder.LITTLE_ENDIAN).getInt()).isEqualTo(0x21);
        assertThat(xattr(view, "coffer.ntfs.security_descriptor").array()).isEqualTo(sd);
        assertThat(StandardCharsets.UTF_8.decode(xattr(view, "coffer.ntfs.created")).toString())
                .isEqualTo(TestData.times().created().toString());
        // the same through the kernel's getxattr(2) from another runtime, an independent reader
        String dump = Fixtures.run("python3", "-c", "import os,sys; print(os.getxattr(sys.argv[1], 'user.coffer.ntfs.attributes').hex())",
                root.resolve("m.txt").toString());
        assertThat(dump.strip()).isEqualTo("21000000");

        Path root2 = Files.createDirectory(root.resolve("sidecar-root"));
        try (DirectoryTarget t = DirectoryTarget.open(root2, new DirectoryTarget.Options(DirectoryTarget.MetadataMode.SIDECAR,
                1 << 20, 16))) {
            Upload u = t.begin(f);
            t.write(u, 0, ByteBuffer.wrap(c));
            assertThat(t.commit(u).metadata()).isEqualTo(CommitResult.Metadata.SIDECAR);
        }
        JsonNode n = new ObjectMapper().readTree(root2.resolve("m.txt.coffer-meta.json").toFile());
        assertThat(n.path("attributes").asInt()).isEqualTo(0x21);
        assertThat(Base64.getDecoder().decode(n.path("securityDescriptor").asText())).isEqualTo(sd);
        assertThat(n.path("created").asText()).isEqualTo(TestData.times().created().toString());
        assertThat(Files.readString(root2.resolve("m.txt"))).isEqualTo("content");
    }

    private static ByteBuffer xattr(UserDefinedFileAttributeView view, String name) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(view.size(name));
        view.read(name, b);
        return b.flip();
    }

    @Test
    void alternateStream_isWrittenBesideItsFileAndReported() throws Exception {
        byte[] main = "main".getBytes(StandardCharsets.UTF_8);
        byte[] ads = "[ZoneTransfer]\r\nZoneId=3\r\n".getBytes(StandardCharsets.UTF_8);
        try (DirectoryTarget t = open()) {
            Upload u = t.begin(TestData.file(List.of("dl.exe"), main, ExistingPolicy.OVERWRITE));
            t.write(u, 0, ByteBuffer.wrap(main));
            t.commit(u);
            RestoreFile s = new RestoreFile(List.of("dl.exe"), "Zone.Identifier", ads.length, TestData.sha256(ads),
                    0, FileTimes.NONE, 0, null, ExistingPolicy.OVERWRITE);
            Upload us = t.begin(s);
            t.write(us, 0, ByteBuffer.wrap(ads));
            CommitResult r = t.commit(us);
            assertThat(r.path()).isEqualTo("dl.exe~Zone.Identifier.ads");
            assertThat(r.mappings()).singleElement().extracting(NameMapping::original).isEqualTo("dl.exe:Zone.Identifier");
        }
        assertThat(Files.readAllBytes(root.resolve("dl.exe"))).isEqualTo(main);
        assertThat(Files.readAllBytes(root.resolve("dl.exe~Zone.Identifier.ads"))).isEqualTo(ads);
    }

    /** Block-tree hashes (what the FLR pipeline knows from the catalog) verify like plain ones, in any write order. */
    @Test
    void commit_blockTreeHash_verifiesAndRejectsPlainHash() throws Exception {
        Random rnd = new Random(17);
        for (int blockBytes : new int[] {4096, 65536, TestData.CHUNK, 3 * TestData.CHUNK}) {
            byte[] c = TestData.random(rnd, 5 * TestData.CHUNK + rnd.nextInt(TestData.CHUNK));
            RestoreFile f = TestData.treeFile(List.of("tree" + blockBytes + ".bin"), c, blockBytes, ExistingPolicy.OVERWRITE);
            assertThat(RestoreFile.contentHash(c, blockBytes)).isEqualTo(f.sha256());
            try (DirectoryTarget t = open()) {
                Upload u = t.begin(f);
                for (long off : TestData.shuffledOffsets(rnd, c.length)) {
                    t.write(u, off, TestData.chunk(c, off));
                }
                assertThat(t.commit(u).outcome()).isEqualTo(CommitResult.Outcome.WRITTEN);
                // the plain SHA-256 is not accepted where a tree hash is declared
                RestoreFile wrong = new RestoreFile(List.of("plain" + blockBytes), null, c.length, TestData.sha256(c), blockBytes,
                        TestData.times(), 0, null, ExistingPolicy.OVERWRITE);
                Upload w = t.begin(wrong);
                for (long off = 0; off < c.length; off += TestData.CHUNK) {
                    t.write(w, off, TestData.chunk(c, off));
                }
                assertThatThrownBy(() -> t.commit(w)).hasMessageContaining("block-tree")
                        .extracting(e -> ((RestoreException) e).code()).isEqualTo(Code.HASH_MISMATCH);
            }
            assertThat(Files.readAllBytes(root.resolve("tree" + blockBytes + ".bin"))).isEqualTo(c);
        }
        // an empty file has no blocks: its tree hash is the SHA-256 of nothing
        assertThat(RestoreFile.contentHash(new byte[0], 4096)).isEqualTo(TestData.sha256(new byte[0]));
    }

    @Test
    void abort_discardsPartial() throws Exception {
        byte[] c = TestData.random(new Random(10), 1000);
        RestoreFile f = TestData.file(List.of("ab.bin"), c, ExistingPolicy.OVERWRITE);
        try (DirectoryTarget t = open()) {
            Upload u = t.begin(f);
            t.write(u, 0, ByteBuffer.wrap(c, 0, 500));
            assertThat(t.status(f)).containsExactly(new ByteRange(0, 500));
            t.abort(u);
            assertThat(t.status(f)).isEmpty();
            assertThatThrownBy(() -> t.write(u, 500, ByteBuffer.wrap(c, 500, 500)))
                    .extracting(e -> ((RestoreException) e).code()).isEqualTo(Code.UNKNOWN_UPLOAD);
        }
        assertThat(root.resolve("ab.bin")).doesNotExist();
    }
}
