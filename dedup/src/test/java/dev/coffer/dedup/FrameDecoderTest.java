package dev.coffer.dedup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {
    private static ByteBuf encoded(int op, long id, byte[] body) {
        ByteBuf f = Wire.frame(Unpooled.buffer().alloc(), op, id, Unpooled.wrappedBuffer(body));
        ByteBuf copy = Unpooled.buffer(f.readableBytes());
        copy.writeBytes(f);
        f.release();
        return copy;
    }

    @Test
    void decode_roundTripsFramesSplitAtEveryByte() {
        byte[] body = TestBlocks.random(1, 300);
        ByteBuf all = Unpooled.buffer();
        all.writeBytes(encoded(Wire.PUT, 7, body));
        all.writeBytes(encoded(Wire.LIST, 8, new byte[0]));
        all.writeBytes(encoded(Wire.HAS, 9, new byte[36]));
        byte[] bytes = new byte[all.readableBytes()];
        all.readBytes(bytes);
        all.release();
        for (int split = 1; split < bytes.length; split += 7) {
            EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder("test", Wire.MAX_BODY_BYTES, null, 0));
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, 0, split));
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, split, bytes.length - split));
            List<Frame> frames = new ArrayList<>();
            Frame f;
            while ((f = ch.readInbound()) != null) {
                frames.add(f);
            }
            assertThat(frames).extracting(x -> x.opcode).containsExactly(Wire.PUT, Wire.LIST, Wire.HAS);
            assertThat(frames).extracting(x -> x.requestId).containsExactly(7L, 8L, 9L);
            byte[] got = new byte[300];
            frames.get(0).body.getBytes(0, got);
            assertThat(got).isEqualTo(body);
            frames.forEach(Frame::release);
            assertThat(ch.finish()).isFalse();
        }
    }

    @Test
    void decode_assemblesLargeBodiesFromPiecesOfAnySize_thenDecodesWhatFollows() {
        byte[] big = TestBlocks.random(3, (1 << 20) + 37);
        ByteBuf all = Unpooled.buffer();
        all.writeBytes(encoded(Wire.PUT, 7, big));
        all.writeBytes(encoded(Wire.HAS, 8, new byte[36]));
        all.writeBytes(encoded(Wire.PUT, 9, big));
        byte[] bytes = new byte[all.readableBytes()];
        all.readBytes(bytes);
        all.release();
        // pieces below and above MIN_SLICE_BYTES, a header split across pieces, a frame end mid-piece
        int[] sizes = {5, 11, 70000, 1, 16384, 3000, 200000, 16383, 9, 500000, 64, 1 << 20};
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder("test", Wire.MAX_BODY_BYTES, new MemoryBudget(64 << 20), 64 << 20));
        int off = 0;
        for (int i = 0; off < bytes.length; i++) {
            int n = Math.min(sizes[i % sizes.length], bytes.length - off);
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, off, n));
            off += n;
        }
        List<Frame> frames = new ArrayList<>();
        Frame f;
        while ((f = ch.readInbound()) != null) {
            frames.add(f);
        }
        assertThat(frames).extracting(x -> x.requestId).containsExactly(7L, 8L, 9L);
        for (Frame x : List.of(frames.get(0), frames.get(2))) {
            byte[] got = new byte[x.body.readableBytes()];
            x.body.getBytes(x.body.readerIndex(), got);
            assertThat(got).isEqualTo(big);
            assertThat(((io.netty.buffer.CompositeByteBuf) x.body).numComponents()).isLessThan(64);
        }
        frames.forEach(x -> {
            x.lease().release();
            x.release();
        });
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void decode_releasesAHalfReceivedLargeBodyWhenTheConnectionCloses() {
        MemoryBudget budget = new MemoryBudget(8 << 20);
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder("test", Wire.MAX_BODY_BYTES, budget, 8 << 20));
        ByteBuf frame = encoded(Wire.PUT, 1, TestBlocks.random(4, 1 << 20));
        ch.writeInbound(frame.retainedSlice(0, 300000));
        ch.writeInbound(frame.retainedSlice(300000, 10));
        frame.release();
        assertThat(budget.used()).isEqualTo(1 << 20);
        ch.finishAndReleaseAll();
        assertThat(budget.used()).isZero();
    }

    @Test
    void decode_rejectsOversizeLengthFromTheHeaderAlone() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder("test", 1024, null, 0));
        ByteBuf h = Unpooled.buffer(16);
        h.writeIntLE(1025).writeShortLE(0xC0FE).writeByte(Wire.HELLO).writeByte(0).writeLongLE(1);
        assertThatThrownBy(() -> ch.writeInbound(h)).isInstanceOf(FrameDecoder.FrameException.class)
                .hasMessageContaining("body length 1025 over the limit 1024")
                .hasMessageContaining("stream offset 0x0");
        // afterwards everything is discarded
        ch.writeInbound(encoded(Wire.LIST, 2, new byte[0]));
        Object none = ch.readInbound();
        assertThat(none).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void decode_rejectsBadMagicFlagsAndOpcode_namingTheOffset() {
        for (int[] poke : new int[][] {{4, 0x00}, {7, 0x01}, {6, 0x42}}) {
            EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder("peer", 1024, null, 0));
            ch.writeInbound(encoded(Wire.LIST, 1, new byte[0]));
            Frame ok = ch.readInbound();
            ok.release();
            ByteBuf bad = encoded(Wire.LIST, 2, new byte[0]);
            bad.setByte(poke[0], poke[1]);
            assertThatThrownBy(() -> ch.writeInbound(bad)).isInstanceOf(FrameDecoder.FrameException.class)
                    .hasMessageContaining("peer frame at stream offset 0x10");
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void decode_waitsForTheBudget_andResumesWhenReleased() {
        MemoryBudget budget = new MemoryBudget(1000);
        AtomicLong other = new AtomicLong();
        MemoryBudget.Lease held = budget.tryReserve(900, other, 1 << 20, () -> { });
        assertThat(held).isNotNull();
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder("test", 1 << 20, budget, 1 << 20));
        ch.writeInbound(encoded(Wire.PUT, 1, new byte[500]));
        Object notDecoded = ch.readInbound();
        assertThat(notDecoded).as("no budget: not decoded").isNull();
        assertThat(ch.config().isAutoRead()).isFalse();
        held.release();
        ch.runPendingTasks();
        Frame f = ch.readInbound();
        assertThat(f).isNotNull();
        assertThat(budget.used()).isEqualTo(500);
        f.lease().release();
        f.release();
        assertThat(budget.used()).isZero();
        ch.finishAndReleaseAll();
    }

    /** Fuzz: any byte stream either yields well-formed frames or a FrameException, never anything else, never a leak. */
    @FuzzTest(maxDuration = "20s")
    void fuzzDecoder(FuzzedDataProvider data) {
        int limit = data.consumeInt(0, 4096);
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder("fuzz", limit, new MemoryBudget(1 << 20), 1 << 16));
        try {
            while (data.remainingBytes() > 0) {
                byte[] chunk = data.consumeBytes(data.consumeInt(1, 64));
                try {
                    ch.writeInbound(Unpooled.wrappedBuffer(chunk));
                } catch (DecoderException e) {
                    assertThat(e).isInstanceOf(FrameDecoder.FrameException.class);
                }
                Frame f;
                while ((f = ch.readInbound()) != null) {
                    assertThat(Wire.known(f.opcode)).isTrue();
                    assertThat(f.body.readableBytes()).isLessThanOrEqualTo(limit);
                    if (f.lease() != null) {
                        f.lease().release();
                    }
                    f.release();
                }
            }
        } finally {
            ch.finishAndReleaseAll();
        }
    }
}
