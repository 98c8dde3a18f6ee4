package dev.coffer.dedup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS) // a hang fails the test, never the build
class BlockStoreTest {
    @TempDir
    Path dir;

    private static PutResult put(BlockStore s, byte[] data) {
        return s.putRaw(TestBlocks.sha(data), ByteBuffer.wrap(data), BlockCodecs.defaults()).join();
    }

    @Test
    void put_get_roundTripsAndDedups() throws IOException {
        byte[] a = TestBlocks.random(1, 1 << 20);
        byte[] t = TestBlocks.text(2, 1 << 20);
        try (BlockStore s = BlockStore.open(dir)) {
            PutResult ra = put(s, a);
            assertThat(ra.alreadyPresent()).isFalse();
            assertThat(ra.codec()).isEqualTo(Codec.RAW);
            PutResult rt = put(s, t);
            assertThat(rt.codec()).isEqualTo(Codec.ZSTD);
            assertThat(rt.storedLength()).isLessThan(t.length / 3);
            assertThat(put(s, a).alreadyPresent()).isTrue();
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(a)))).isEqualTo(a);
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(t)))).isEqualTo(t);
            assertThat(s.has(TestBlocks.sha(t))).isTrue();
            assertThat(s.has(TestBlocks.sha(new byte[] {1}))).isFalse();
        }
        try (BlockStore s = BlockStore.open(dir)) {
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(t)))).isEqualTo(t);
            assertThat(s.stats().blocks()).isEqualTo(2);
        }
    }

    @Test
    void batchNumbers_goOnAcrossReopens_fromMeta_orFromTheIndexForAnOlderStore() throws Exception {
        try (BlockStore s = BlockStore.open(dir)) {
            put(s, TestBlocks.random(11, 4096));
        }
        long first = maxSeq("blocks");
        assertThat(first).isPositive();
        // every batch that commits records its number (opening's recovery pass is one, even with nothing to index)
        assertThat(maxSeq("meta")).as("recorded by the batch's transaction").isGreaterThanOrEqualTo(first);
        try (BlockStore s = BlockStore.open(dir)) {
            put(s, TestBlocks.random(12, 4096));
        }
        long second = maxSeq("blocks");
        assertThat(second).as("a later batch, numbered after every earlier one").isGreaterThan(first);
        assertThat(maxSeq("meta")).isGreaterThanOrEqualTo(second);

        // a store from before max_seq was kept: the number is taken from the index once, then kept
        sql("DELETE FROM meta WHERE key='max_seq'");
        try (BlockStore s = BlockStore.open(dir)) {
            assertThat(maxSeq("meta")).isGreaterThanOrEqualTo(second);
            put(s, TestBlocks.random(13, 4096));
        }
        assertThat(maxSeq("blocks")).isGreaterThan(second);
        assertThat(maxSeq("meta")).isGreaterThanOrEqualTo(maxSeq("blocks"));
    }

    /** The largest batch number in the index ({@code blocks}) or the one recorded ({@code meta}). */
    private long maxSeq(String where) throws Exception {
        String q = where.equals("meta") ? "SELECT value FROM meta WHERE key='max_seq'" : "SELECT MAX(seq) FROM blocks";
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("index.db"));
                var st = c.createStatement(); var rs = st.executeQuery(q)) {
            return rs.next() ? Long.parseLong(rs.getString(1)) : -1;
        }
    }

    private void sql(String statement) throws Exception {
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("index.db"));
                var st = c.createStatement()) {
            st.execute(statement);
        }
    }

    @Test
    void codecs_sendIncompressibleBlocksAsAViewOfTheCallersBuffer_andCompressSlicesAndDirectBuffers() throws IOException {
        BlockCodecs codecs = BlockCodecs.defaults();
        byte[] random = TestBlocks.random(3, 1 << 20);
        ByteBuffer direct = ByteBuffer.allocateDirect(random.length + 100);
        direct.position(100);
        direct.put(random).position(100);
        BlockCodecs.Encoded raw = codecs.encode(direct);
        assertThat(raw.codec()).isEqualTo(Codec.RAW);
        assertThat(raw.data().isDirect()).as("no copy of an incompressible direct block").isTrue();
        assertThat(raw.toArray()).isEqualTo(random);
        assertThat(direct.position()).isEqualTo(100);

        // compressible content inside a larger array and inside a direct buffer: probe and compress see
        // exactly the block, whatever its offset
        byte[] text = TestBlocks.text(4, 1 << 20);
        byte[] padded = new byte[text.length + 4096];
        java.util.Arrays.fill(padded, (byte) 0x5a);
        System.arraycopy(text, 0, padded, 4096, text.length);
        ByteBuffer textDirect = ByteBuffer.allocateDirect(text.length).put(text).flip();
        for (ByteBuffer b : List.of(ByteBuffer.wrap(padded, 4096, text.length).slice(), textDirect)) {
            BlockCodecs.Encoded z = codecs.encode(b);
            assertThat(z.codec()).isEqualTo(Codec.ZSTD);
            assertThat(z.length()).isLessThan(text.length / 3);
            assertThat(BlockCodecs.decode(z.codec(), z.toArray(), 0, z.length(), z.rawLength(), "test")).isEqualTo(text);
        }
        // and a direct block stores and reads back like any other
        try (BlockStore s = BlockStore.open(dir)) {
            assertThat(s.putRaw(TestBlocks.sha(random), direct, codecs).join().codec()).isEqualTo(Codec.RAW);
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(random)))).isEqualTo(random);
        }
    }

    @Test
    void groupCommit_acrossManyBatchesAndPackRotations_acknowledgesOnlyWhatIsIndexed() throws Exception {
        // small batches and packs: many group commits, with pack rotations between and inside them
        StoreOptions o = new StoreOptions(700_000, 150_000, 2, 30, java.time.Duration.ZERO);
        List<byte[]> blocks = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            blocks.add(TestBlocks.random(500 + i, 20_000 + 997 * i));
        }
        try (BlockStore s = BlockStore.open(dir, o)) {
            List<CompletableFuture<PutResult>> puts = new ArrayList<>();
            for (byte[] b : blocks) {
                puts.add(s.putRaw(TestBlocks.sha(b), ByteBuffer.wrap(b), BlockCodecs.defaults()));
            }
            for (int i = 0; i < blocks.size(); i++) {
                assertThat(puts.get(i).join().alreadyPresent()).isFalse();
                // acknowledged means indexed and readable at once
                assertThat(s.has(TestBlocks.sha(blocks.get(i)))).isTrue();
            }
            assertThat(s.stats().blocks()).isEqualTo(blocks.size());
        }
        try (BlockStore s = BlockStore.open(dir, o)) {
            for (byte[] b : blocks) {
                assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(b)))).isEqualTo(b);
            }
            assertThat(s.verify().ok()).isTrue();
            try (var packs = Files.list(dir.resolve("packs"))) {
                assertThat(packs.count()).as("rotations happened").isGreaterThan(3);
            }
        }
    }

    @Test
    void put_rejectsBytesThatDoNotMatchTheirHash() throws IOException {
        byte[] a = TestBlocks.random(1, 4096);
        try (BlockStore s = BlockStore.open(dir)) {
            CompletableFuture<PutResult> f = s.put(TestBlocks.sha(new byte[] {9}), a.length, Codec.RAW, a, a.length);
            assertThatThrownBy(f::join).hasCauseInstanceOf(HashMismatchException.class);
            assertThat(s.stats().blocks()).isZero();
        }
    }

    @Test
    void putVerified_takesThePayloadInDirectParts_andReleasesItOnce() throws Exception {
        byte[] a = TestBlocks.random(11, (1 << 20) + 123);
        try (BlockStore s = BlockStore.open(dir)) {
            java.util.concurrent.atomic.AtomicInteger released = new java.util.concurrent.atomic.AtomicInteger();
            PutResult r = s.putVerified(TestBlocks.sha(a), a.length, Codec.RAW, directParts(a, 7000, 65536, 1),
                    released::incrementAndGet).join();
            assertThat(r.alreadyPresent()).isFalse();
            awaitValue(released, 1); // the writer releases the payload just after acknowledging it
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(a)))).isEqualTo(a);
            // a liar's parts: HASH_MISMATCH, nothing stored, released once
            byte[] b = TestBlocks.random(12, 70000);
            CompletableFuture<PutResult> f = s.putVerified(TestBlocks.sha(a.clone()).clone(), b.length, Codec.RAW,
                    directParts(b, 20000, 30000, 20000), released::incrementAndGet);
            assertThat(s.putVerified(TestBlocks.sha(b), b.length, Codec.RAW, directParts(b, 3, 70000 - 3),
                    released::incrementAndGet).join().alreadyPresent()).isFalse();
            assertThat(f.join().alreadyPresent()).as("the block named by that hash is present: nothing to check").isTrue();
            byte[] wrong = TestBlocks.sha(new byte[] {1, 2, 3});
            CompletableFuture<PutResult> g = s.putVerified(wrong, b.length, Codec.RAW, directParts(b, 35000, 35000),
                    released::incrementAndGet);
            assertThatThrownBy(g::join).hasCauseInstanceOf(HashMismatchException.class);
            awaitValue(released, 4);
            assertThat(s.has(wrong)).isFalse();
            assertThat(s.verify().ok()).isTrue();
        }
    }

    private static void awaitValue(java.util.concurrent.atomic.AtomicInteger n, int expected) throws InterruptedException {
        for (int i = 0; i < 500 && n.get() < expected; i++) {
            Thread.sleep(10);
        }
        Thread.sleep(50); // and no more than once
        assertThat(n).hasValue(expected);
    }

    /** {@code a} cut into direct buffers of the given sizes (the last takes the rest). */
    private static ByteBuffer[] directParts(byte[] a, int... sizes) {
        List<ByteBuffer> parts = new ArrayList<>();
        int off = 0;
        for (int i = 0; i < sizes.length && off < a.length; i++) {
            int n = i == sizes.length - 1 ? a.length - off : Math.min(sizes[i], a.length - off);
            ByteBuffer b = ByteBuffer.allocateDirect(n);
            b.put(a, off, n).flip();
            parts.add(b);
            off += n;
        }
        return parts.toArray(ByteBuffer[]::new);
    }

    @Test
    void localDestination_trustsTheCallersHash_butReadsStillVerify() throws Exception {
        byte[] raw = TestBlocks.random(21, 1 << 20);
        byte[] text = TestBlocks.text(22, 1 << 20);
        try (LocalDestination d = LocalDestination.open(dir)) {
            assertThat(d.put(TestBlocks.sha(raw), ByteBuffer.wrap(raw)).join().codec()).isEqualTo(Codec.RAW);
            assertThat(d.put(TestBlocks.sha(text), ByteBuffer.wrap(text)).join().codec()).isEqualTo(Codec.ZSTD);
            assertThat(TestBlocks.bytes(d.get(TestBlocks.sha(raw)).join())).isEqualTo(raw);
            assertThat(TestBlocks.bytes(d.get(TestBlocks.sha(text)).join())).isEqualTo(text);
            // an in-process caller that lies about the hash is not caught on the way in (docs/store.md), but a
            // read of that block fails its SHA-256 check, and verify reports it
            byte[] lie = TestBlocks.sha(new byte[] {7});
            byte[] other = TestBlocks.random(23, 4096);
            d.put(lie, ByteBuffer.wrap(other)).join();
            assertThatThrownBy(() -> d.get(lie).join()).hasCauseInstanceOf(HashMismatchException.class);
            assertThat(d.store().verify().damaged()).hasSize(1);
        }
    }

    @Test
    void putTrusted_rejectsACompressedFormThatDoesNotDecodeToTheBlock() throws IOException {
        byte[] text = TestBlocks.text(31, 1 << 18);
        byte[] otherText = TestBlocks.text(32, 1 << 18);
        try (BlockStore s = BlockStore.open(dir)) {
            BlockCodecs.Encoded e = BlockCodecs.defaults().encode(ByteBuffer.wrap(otherText));
            assertThat(e.codec()).isEqualTo(Codec.ZSTD);
            CompletableFuture<PutResult> f = s.putTrusted(TestBlocks.sha(text), ByteBuffer.wrap(text), e);
            assertThatThrownBy(f::join).hasCauseInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("does not decode to the block's bytes");
            assertThat(s.stats().blocks()).isZero();
        }
    }

    @Test
    void concurrentDuplicatePuts_storeOnce() throws IOException {
        byte[] a = TestBlocks.random(5, 1 << 16);
        try (BlockStore s = BlockStore.open(dir)) {
            List<CompletableFuture<PutResult>> fs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                fs.add(s.put(TestBlocks.sha(a), a.length, Codec.RAW, a.clone(), a.length));
            }
            long fresh = fs.stream().map(CompletableFuture::join).filter(r -> !r.alreadyPresent()).count();
            assertThat(fresh).isEqualTo(1);
            assertThat(s.stats().storedBytes()).isEqualTo(a.length);
        }
    }

    @Test
    void open_recoversTornTailAndReindexesUnindexedRecords() throws Exception {
        byte[] a = TestBlocks.random(1, 100_000);
        byte[] b = TestBlocks.random(2, 100_000);
        try (BlockStore s = BlockStore.open(dir)) {
            put(s, a);
            put(s, b);
        }
        Path pack = dir.resolve("packs").resolve(PackFile.fileName(1));
        long size = Files.size(pack);
        // simulate a crash after the pack fsync but before the index commit of b: roll the index back
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("index.db"));
                var st = c.createStatement()) {
            st.executeUpdate("DELETE FROM blocks WHERE sha256=x'" + BlockStore.hex(TestBlocks.sha(b)) + "'");
            st.executeUpdate("UPDATE packs SET indexed_end=" + (size - PackRecord.HEADER_BYTES - b.length));
        }
        // and a torn record after it: a header and half a payload
        try (RandomAccessFile f = new RandomAccessFile(pack.toFile(), "rw")) {
            f.seek(size);
            byte[] rec = new byte[PackRecord.HEADER_BYTES + 5000];
            System.arraycopy(new PackRecord(Codec.RAW, 10000, 10000, new byte[32], 0).encode().array(), 0, rec, 0,
                    PackRecord.HEADER_BYTES);
            f.write(rec);
        }
        try (BlockStore s = BlockStore.open(dir)) {
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(a)))).isEqualTo(a);
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(b)))).isEqualTo(b);
            assertThat(s.stats().blocks()).isEqualTo(2);
        }
        assertThat(Files.size(pack)).isEqualTo(size);
    }

    @Test
    void open_dropsIndexRowsPastATruncatedPack() throws Exception {
        byte[] a = TestBlocks.random(1, 100_000);
        byte[] b = TestBlocks.random(2, 100_000);
        try (BlockStore s = BlockStore.open(dir)) {
            put(s, a);
            put(s, b);
            s.commitManifest("b1", List.of(TestBlocks.sha(a), TestBlocks.sha(b)).iterator());
        }
        Path pack = dir.resolve("packs").resolve(PackFile.fileName(1));
        try (RandomAccessFile f = new RandomAccessFile(pack.toFile(), "rw")) {
            f.setLength(Files.size(pack) - 10);
        }
        try (BlockStore s = BlockStore.open(dir)) {
            assertThat(s.has(TestBlocks.sha(b))).isFalse();
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(a)))).isEqualTo(a);
            VerifyReport v = s.verify();
            assertThat(v.damagedBlocksByBackup()).containsEntry("b1", 1L);
        }
    }

    @Test
    void verify_findsAFlippedByteAndNamesTheBackup() throws Exception {
        byte[] a = TestBlocks.random(1, 50_000);
        byte[] t = TestBlocks.text(2, 50_000);
        try (BlockStore s = BlockStore.open(dir)) {
            put(s, a);
            put(s, t);
            s.commitManifest("monday", List.of(TestBlocks.sha(a), TestBlocks.sha(t)).iterator());
            s.commitManifest("tuesday", List.of(TestBlocks.sha(t)).iterator());
            assertThat(s.verify().ok()).isTrue();
        }
        Path pack = dir.resolve("packs").resolve(PackFile.fileName(1));
        long at = PackFile.HEADER_BYTES + PackRecord.HEADER_BYTES + 1234; // inside a's payload
        try (RandomAccessFile f = new RandomAccessFile(pack.toFile(), "rw")) {
            f.seek(at);
            int v = f.read();
            f.seek(at);
            f.write(v ^ 0x10);
        }
        try (BlockStore s = BlockStore.open(dir)) {
            VerifyReport v = s.verify();
            assertThat(v.blocksChecked()).isEqualTo(2);
            assertThat(v.damagedBlocksByBackup()).containsExactlyEntriesOf(java.util.Map.of("monday", 1L));
            assertThat(v.damaged()).singleElement().asString().contains(BlockStore.hex(TestBlocks.sha(a))).contains("CRC");
            assertThatThrownBy(() -> s.get(TestBlocks.sha(a))).isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("pack-00000001.pack at 0x10");
            // a read that leaves hashing to the caller still checks the record's CRCs
            assertThatThrownBy(() -> s.getWithoutHashing(TestBlocks.sha(a))).isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("pack-00000001.pack at 0x10").hasMessageContaining("CRC");
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(t)))).isEqualTo(t);
            assertThat(TestBlocks.bytes(s.getWithoutHashing(TestBlocks.sha(t)))).isEqualTo(t);
        }
    }

    @Test
    void commitManifest_refusesMissingBlocks_andIsIdempotent() throws IOException {
        byte[] a = TestBlocks.random(1, 1000);
        try (BlockStore s = BlockStore.open(dir)) {
            put(s, a);
            assertThatThrownBy(() -> s.commitManifest("x", List.of(TestBlocks.sha(a), TestBlocks.sha(new byte[] {2})).iterator()))
                    .isInstanceOf(MissingBlocksException.class).hasMessageContaining("1 of 2");
            assertThat(s.listManifests()).isEmpty();
            ManifestInfo m = s.commitManifest("x", List.of(TestBlocks.sha(a), TestBlocks.sha(a)).iterator());
            assertThat(m.blockCount()).isEqualTo(2);
            assertThat(m.logicalBytes()).isEqualTo(2000);
            assertThat(s.commitManifest("x", List.of(TestBlocks.sha(a), TestBlocks.sha(a)).iterator()).committedAt())
                    .isEqualTo(m.committedAt());
            assertThatThrownBy(() -> s.commitManifest("x", List.of(TestBlocks.sha(a)).iterator()))
                    .isInstanceOf(InvalidRequestException.class);
            assertThatThrownBy(() -> s.commitManifest("../evil", List.<byte[]>of().iterator()))
                    .isInstanceOf(InvalidRequestException.class);
            List<byte[]> back = new ArrayList<>();
            s.readManifest("x", back::add);
            assertThat(back).hasSize(2);
            assertThat(back.get(1)).isEqualTo(TestBlocks.sha(a));
        }
    }

    @Test
    void manifestsAndHasQueries_spanningSeveralLookupBatches_findEveryBlockAndEveryGap() throws IOException {
        int n = 2 * BlockStore.LOOKUP_BATCH + 17; // two full batches and a short one
        List<byte[]> stored = new ArrayList<>();
        List<byte[]> asked = new ArrayList<>();
        try (BlockStore s = BlockStore.open(dir)) {
            long logical = 0;
            for (int i = 0; i < n; i++) {
                byte[] data = TestBlocks.random(1000 + i, 100 + i);
                put(s, data);
                stored.add(TestBlocks.sha(data));
                logical += data.length;
            }
            // order, duplicates across batch boundaries and absent hashes must all come back right
            java.util.BitSet expected = new java.util.BitSet();
            for (int i = 0; i < n; i++) {
                asked.add(stored.get((i * 7) % n));
                expected.set(asked.size() - 1);
                if (i % 50 == 0) {
                    asked.add(TestBlocks.sha(new byte[] {(byte) i, 1}));
                }
            }
            assertThat(s.hasAll(asked)).isEqualTo(expected);

            ManifestInfo m = s.commitManifest("all", stored.iterator());
            assertThat(m.blockCount()).isEqualTo(n);
            assertThat(m.logicalBytes()).isEqualTo(logical);
            List<byte[]> back = new ArrayList<>();
            s.readManifest("all", back::add);
            assertThat(back).containsExactlyElementsOf(stored);

            List<byte[]> gappy = new ArrayList<>(stored);
            gappy.add(BlockStore.LOOKUP_BATCH + 3, TestBlocks.sha(new byte[] {7}));
            gappy.add(TestBlocks.sha(new byte[] {8}));
            assertThatThrownBy(() -> s.commitManifest("gappy", gappy.iterator()))
                    .isInstanceOf(MissingBlocksException.class).hasMessageContaining("2 of " + (n + 2));
        }
    }

    @Test
    void gc_deletesUnreferencedBlocks_compactsPacks_keepsLiveOnes() throws IOException {
        StoreOptions o = new StoreOptions(300_000, 0, 0, 30, java.time.Duration.ZERO);
        List<byte[]> blocks = new ArrayList<>();
        try (BlockStore s = BlockStore.open(dir, o)) {
            for (int i = 0; i < 12; i++) {
                byte[] b = TestBlocks.random(100 + i, 100_000);
                blocks.add(b);
                put(s, b);
            }
            List<byte[]> keep = new ArrayList<>();
            for (int i = 0; i < 12; i += 3) {
                keep.add(TestBlocks.sha(blocks.get(i)));
            }
            s.commitManifest("keep", keep.iterator());
            s.commitManifest("drop", List.of(TestBlocks.sha(blocks.get(1))).iterator());
            assertThat(s.deleteManifest("drop")).isTrue();
            long packsBefore = s.stats().packFiles();
            GcReport r = s.gc();
            assertThat(r.deletedBlocks()).isEqualTo(8);
            assertThat(r.liveBlocks()).isEqualTo(4);
            assertThat(r.packsRewritten()).isPositive();
            StoreStats st = s.stats();
            assertThat(st.blocks()).isEqualTo(4);
            assertThat(st.packBytes()).isLessThan(packsBefore * 300_000L);
            for (int i = 0; i < 12; i++) {
                assertThat(s.has(TestBlocks.sha(blocks.get(i)))).isEqualTo(i % 3 == 0);
            }
            assertThat(s.verify().ok()).isTrue();
        }
        try (BlockStore s = BlockStore.open(dir, o)) {
            for (int i = 0; i < 12; i += 3) {
                assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(blocks.get(i))))).isEqualTo(blocks.get(i));
            }
            assertThat(s.verify().ok()).isTrue();
        }
    }

    @Test
    void gc_keepsBlocksAskedAboutWithinGrace() throws IOException {
        byte[] a = TestBlocks.random(1, 1000);
        try (BlockStore s = BlockStore.open(dir)) { // default grace: 6 h
            put(s, a);
            assertThat(s.has(TestBlocks.sha(a))).isTrue();
            assertThat(s.gc().deletedBlocks()).isZero();
            assertThat(s.has(TestBlocks.sha(a))).isTrue();
        }
    }

    /**
     * A store opened for reading serves blocks and manifests, refuses every write, changes no byte of the
     * store (not even a torn tail, which only a writer's recovery cuts), and cannot be opened beside a writer.
     */
    @Test
    void openForReading_readsWithoutRecoveringOrWriting_andRefusesWrites() throws Exception {
        byte[] a = TestBlocks.random(21, 100_000);
        byte[] t = TestBlocks.text(22, 300_000);
        try (BlockStore s = BlockStore.open(dir)) {
            put(s, a);
            put(s, t);
            s.commitManifest("b1", List.of(TestBlocks.sha(a), TestBlocks.sha(t)).iterator());
        }
        Path pack;
        try (var l = Files.list(dir.resolve("packs"))) {
            pack = l.findFirst().orElseThrow();
        }
        try (RandomAccessFile f = new RandomAccessFile(pack.toFile(), "rw")) {
            f.seek(f.length());
            f.write(new byte[] {1, 2, 3, 4, 5}); // a torn tail left by a crash
        }
        java.util.Map<Path, byte[]> before = snapshot(dir);
        try (BlockStore s = BlockStore.openForReading(dir)) {
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(a)))).isEqualTo(a);
            assertThat(TestBlocks.bytes(s.getWithoutHashing(TestBlocks.sha(t)))).isEqualTo(t);
            assertThat(s.has(TestBlocks.sha(t))).isTrue();
            assertThat(s.listManifests()).extracting(ManifestInfo::backupId).containsExactly("b1");
            assertThatThrownBy(() -> put(s, TestBlocks.random(23, 5000))).hasRootCauseInstanceOf(DedupException.class)
                    .rootCause().hasMessageContaining("reading only");
            assertThatThrownBy(() -> s.commitManifest("b2", List.of(TestBlocks.sha(a)).iterator()))
                    .isInstanceOf(DedupException.class).hasMessageContaining("reading only");
            assertThatThrownBy(() -> s.deleteManifest("b1")).isInstanceOf(DedupException.class);
            assertThatThrownBy(s::gc).isInstanceOf(DedupException.class);
            assertThatThrownBy(() -> BlockStore.open(dir)).isInstanceOf(DedupException.class).hasMessageContaining("in use");
        }
        java.util.Map<Path, byte[]> after = snapshot(dir);
        assertThat(after.keySet()).isEqualTo(before.keySet());
        for (Path p : before.keySet()) {
            assertThat(after.get(p)).as("%s unchanged", p).isEqualTo(before.get(p));
        }
        try (BlockStore s = BlockStore.open(dir)) { // the writer's recovery cuts the tail
            assertThat(TestBlocks.bytes(s.get(TestBlocks.sha(t)))).isEqualTo(t);
        }
        assertThat(Files.size(pack)).isEqualTo(before.get(dir.relativize(pack)).length - 5);
        assertThatThrownBy(() -> BlockStore.openForReading(dir.resolve("nothing"))).isInstanceOf(DedupException.class)
                .hasMessageContaining("not a store");
    }

    /** Every file under {@code root} but the lock, by relative path, with its bytes. */
    private static java.util.Map<Path, byte[]> snapshot(Path root) throws IOException {
        java.util.Map<Path, byte[]> m = new java.util.TreeMap<>();
        try (var w = Files.walk(root)) {
            for (Path p : (Iterable<Path>) w::iterator) {
                if (Files.isRegularFile(p) && !p.getFileName().toString().equals("LOCK")) {
                    m.put(root.relativize(p), Files.readAllBytes(p));
                }
            }
        }
        return m;
    }

    @Test
    void open_refusesASecondOpenOfTheSameStore() throws IOException {
        try (BlockStore s = BlockStore.open(dir)) {
            assertThatThrownBy(() -> BlockStore.open(dir)).isInstanceOf(DedupException.class).hasMessageContaining("in use");
        }
    }
}
