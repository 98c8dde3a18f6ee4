package dev.coffer.dedup;

import com.github.luben.zstd.Zstd;
import java.nio.ByteBuffer;
import java.util.Arrays;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Compresses blocks for storage and the wire, and decompresses them with hostile-input checks.
 *
 * <p>Policy ({@link #encode}): a sample of the block is first compressed with LZ4 (fast, ~2 GB/s on
 * incompressible data); if the sample does not shrink by {@link #SAMPLE_GAIN_PERCENT}% the block is
 * sent raw — media, archives and encrypted data cost almost nothing. Otherwise the whole block is
 * compressed with the configured codec, and kept raw if that is not smaller: stored data is never
 * bigger than raw. Figures behind the defaults: docs/perf/dedup.md.
 *
 * <p>Thread-safe: the lz4 and zstd entry points used are stateless.
 */
public final class BlockCodecs {
    /** Sample size per probe: two 32 KiB probes (start and middle) decide whether a block is compressible. */
    static final int PROBE_BYTES = 32 * 1024;
    /** A sample that does not shrink by this much marks the block incompressible (media/archives shrink ~0-1%). */
    static final int SAMPLE_GAIN_PERCENT = 5;

    /**
     * LZ4, loaded at its first use: its JNI library is unpacked into a temporary file and self-tested
     * (~20 ms of CPU), which a restore of raw or Zstandard blocks never needs (likewise Zstandard, whose
     * class loads its library when first called).
     */
    private static final class Lz4 {
        static final LZ4Factory FACTORY = LZ4Factory.fastestInstance();
        static final LZ4Compressor FAST = FACTORY.fastCompressor();
        static final LZ4SafeDecompressor SAFE = FACTORY.safeDecompressor();
    }

    private final Codec codec;
    private final int zstdLevel;

    /**
     * @param codec the codec used for compressible blocks (RAW disables compression)
     * @param zstdLevel the Zstandard level when {@code codec} is ZSTD (1..19)
     */
    public BlockCodecs(Codec codec, int zstdLevel) {
        if (zstdLevel < 1 || zstdLevel > 19) {
            throw new IllegalArgumentException("zstd level must be 1..19: " + zstdLevel);
        }
        this.codec = codec;
        this.zstdLevel = zstdLevel;
    }

    /** Loads both codecs' JNI libraries now (a warm-up on another thread), rather than at their first block. */
    public static void preload() {
        Lz4.FAST.maxCompressedLength(1);
        Zstd.compressBound(1);
    }

    /** The default policy: LZ4 probe, then Zstandard level 1 for compressible blocks (docs/perf/dedup.md). */
    public static BlockCodecs defaults() {
        return new BlockCodecs(Codec.ZSTD, 1);
    }

    /**
     * A block in its stored form.
     *
     * @param codec how {@code data}'s remaining bytes encode the raw block
     * @param data the stored bytes: for {@link Codec#RAW}, a view of the caller's block itself (no copy; heap
     *     or direct, as given), else a heap buffer owned by the receiver
     * @param rawLength bytes of the raw block
     */
    public record Encoded(Codec codec, ByteBuffer data, int rawLength) {
        /** Stored bytes. */
        public int length() {
            return data.remaining();
        }

        /** The stored bytes as an array from index 0 (the backing array itself when it is exactly that). */
        public byte[] toArray() {
            return BlockCodecs.toArray(data);
        }
    }

    /**
     * Encodes the remaining bytes of {@code raw} (position unchanged) under this policy. An incompressible
     * block is not copied: the result is a view of {@code raw}, so a direct buffer goes to the socket or the
     * pack file as it is.
     */
    public Encoded encode(ByteBuffer raw) {
        ByteBuffer view = raw.slice();
        int n = view.remaining();
        if (codec == Codec.RAW || n < 64 || !probeCompressible(view)) {
            return new Encoded(Codec.RAW, view, n);
        }
        // the copy only feeds the compressor (whose byte[] form is the fast one): a per-thread array
        Encoded e = compress(codec, Scratch.current().copy(view), n);
        return e != null ? e : new Encoded(Codec.RAW, view, n);
    }

    /**
     * Each thread's arrays for the bytes that do not outlive a call: the probe's output, the raw copy the
     * compressor reads, the compressor's output before it is cut to size, and a decode that is only
     * compared. Fresh arrays for these were half of a full backup's allocation (~600 MB of 1.2 GB for the
     * reference workload), every one zeroed and then collected.
     */
    static final class Scratch {
        private static final ThreadLocal<Scratch> CURRENT = ThreadLocal.withInitial(Scratch::new);
        private byte[] probe = new byte[0];
        private byte[] raw = new byte[0];
        private byte[] packed = new byte[0];
        private byte[] decoded = new byte[0];

        static Scratch current() {
            return CURRENT.get();
        }

        /** {@code b}'s remaining bytes from index 0: its own array, or this thread's raw array (b is not moved). */
        byte[] copy(ByteBuffer b) {
            byte[] own = exactArray(b);
            if (own != null) {
                return own;
            }
            raw = atLeast(raw, b.remaining());
            b.duplicate().get(raw, 0, b.remaining());
            return raw;
        }

        /** This thread's array for a decode of {@code n} bytes that is only compared, then dropped. */
        byte[] decoded(int n) {
            return decoded = atLeast(decoded, n);
        }

        private byte[] packed(int n) {
            return packed = atLeast(packed, n);
        }

        private ByteBuffer probe(int n) {
            return ByteBuffer.wrap(probe = atLeast(probe, n));
        }

        private static byte[] atLeast(byte[] a, int n) {
            return a.length >= n ? a : new byte[n];
        }
    }

    /** Compresses {@code src[0..n)} with {@code c}; null when that does not shrink it. */
    Encoded compress(Codec c, byte[] src, int n) {
        switch (c) {
            // into this thread's array, then cut to size: the stored form is owned by the receiver
            case LZ4 -> {
                byte[] dst = Scratch.current().packed(Lz4.FAST.maxCompressedLength(n));
                int len = Lz4.FAST.compress(src, 0, n, dst, 0, dst.length);
                if (len < n) {
                    return new Encoded(Codec.LZ4, ByteBuffer.wrap(Arrays.copyOf(dst, len)), n);
                }
            }
            case ZSTD -> {
                byte[] dst = Scratch.current().packed((int) Zstd.compressBound(n));
                long len = Zstd.compressByteArray(dst, 0, dst.length, src, 0, n, zstdLevel);
                if (Zstd.isError(len)) {
                    throw new IllegalStateException("zstd compress failed: " + Zstd.getErrorName(len));
                }
                if (len < n) {
                    return new Encoded(Codec.ZSTD, ByteBuffer.wrap(Arrays.copyOf(dst, (int) len)), n);
                }
            }
            case RAW -> { }
        }
        return null;
    }

    /** Whether LZ4 shrinks samples of {@code block} (index 0 to its limit; heap or direct) enough. */
    private static boolean probeCompressible(ByteBuffer block) {
        int n = block.remaining();
        int probe = Math.min(PROBE_BYTES, n);
        ByteBuffer scratch = Scratch.current().probe(Lz4.FAST.maxCompressedLength(probe));
        long in = 0;
        long out = 0;
        for (int off : new int[] {0, n / 2}) {
            int len = Math.min(probe, n - off);
            out += Lz4.FAST.compress(block, off, len, scratch, 0, scratch.capacity());
            in += len;
            if (n <= probe) {
                break;
            }
        }
        return out * 100 <= in * (100 - SAMPLE_GAIN_PERCENT);
    }

    /**
     * Decodes a stored block and checks that it yields exactly {@code rawLength} bytes.
     *
     * @param where names the source (file + offset, or peer + request) for error messages
     * @throws CorruptDataException when the payload is not a valid encoding of rawLength bytes
     */
    public static byte[] decode(Codec codec, byte[] src, int off, int len, int rawLength, String where)
            throws CorruptDataException {
        return decode(codec, src, off, len, rawLength, where, null);
    }

    /**
     * As {@link #decode(Codec, byte[], int, int, int, String)}, into {@code into} (from index 0; its
     * length at least {@code rawLength}) when it is not null, else into a new array; returns the array.
     */
    static byte[] decode(Codec codec, byte[] src, int off, int len, int rawLength, String where, byte[] into)
            throws CorruptDataException {
        switch (codec) {
            case RAW -> {
                if (len != rawLength) {
                    throw new CorruptDataException(where + ": raw block length expected " + rawLength + ", found " + len);
                }
                byte[] out = into != null ? into : new byte[len];
                System.arraycopy(src, off, out, 0, len);
                return out;
            }
            case LZ4 -> {
                byte[] out = into != null ? into : new byte[rawLength];
                int got;
                try {
                    got = Lz4.SAFE.decompress(src, off, len, out, 0, rawLength);
                } catch (LZ4Exception e) {
                    throw new CorruptDataException(where + ": invalid LZ4 block: " + e.getMessage(), e);
                }
                if (got != rawLength) {
                    throw new CorruptDataException(where + ": LZ4 block decodes to " + got + " bytes, expected " + rawLength);
                }
                return out;
            }
            case ZSTD -> {
                long declared = Zstd.getFrameContentSize(src, off, len);
                if (declared != rawLength) {
                    throw new CorruptDataException(where + ": zstd frame content size expected " + rawLength
                            + ", found " + declared);
                }
                byte[] out = into != null ? into : new byte[rawLength];
                long got = Zstd.decompressByteArray(out, 0, rawLength, src, off, len);
                if (Zstd.isError(got) || got != rawLength) {
                    throw new CorruptDataException(where + ": invalid zstd frame ("
                            + (Zstd.isError(got) ? Zstd.getErrorName(got) : got + " bytes") + "), expected " + rawLength);
                }
                return out;
            }
            default -> throw new IllegalStateException(codec.toString());
        }
    }

    private static byte[] toArray(ByteBuffer raw) {
        byte[] own = exactArray(raw);
        if (own != null) {
            return own;
        }
        byte[] a = new byte[raw.remaining()];
        raw.duplicate().get(a);
        return a;
    }

    /** The buffer's backing array when its remaining bytes are exactly that array, else null. */
    private static byte[] exactArray(ByteBuffer b) {
        return b.hasArray() && b.arrayOffset() == 0 && b.position() == 0 && b.array().length == b.remaining() ? b.array() : null;
    }
}
