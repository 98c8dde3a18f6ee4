package dev.coffer.dedup;

import com.sun.jna.Function;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SHA-256 and MD5 of block data: from the system's OpenSSL {@code libcrypto} through JNA where it loads
 * and passes a self-test, from the JDK's {@link MessageDigest} otherwise.
 *
 * <p>Why not always the JDK's: its SHA-256 and MD5 run at the CPU's speed (SHA instructions) only once
 * HotSpot's optimising compiler (C2) has compiled the digest code; before that they run interpreted at
 * ~1% of that speed, and C2 costs more CPU than a short command has to spare. On this project's 2-core
 * machine C2 took ~2 s of the ~4.4 s of CPU an incremental backup used, most of it compiling code that
 * was not the hashing (docs/performance.md). libcrypto runs at the same speed as the compiled JDK code
 * (SHA-256 ~1.5 GB/s, MD5 ~650 MB/s here) from the first byte, which lets the launcher run short and
 * medium commands on the quick compiler alone. Both give the same digests; {@code -Dcoffer.digests=java}
 * forces the JDK's (tests compare the two).
 *
 * <p>A {@link Digest} is not thread-safe; use one per thread.
 */
public final class Digests {
    private static final Logger log = LoggerFactory.getLogger(Digests.class);
    private static final boolean NATIVE = loadNative();

    private Digests() {}

    /** A message digest that can be fed from heap or direct buffers. {@link #digest()} resets it. */
    public interface Digest {
        /** Feeds the remaining bytes of {@code b}; its position moves to its limit. */
        void update(ByteBuffer b);

        void update(byte[] a, int off, int len);

        /** The digest of everything fed since the last {@code digest()} or {@code reset()}; the digest starts over. */
        byte[] digest();

        /** Forgets what was fed (after a failure half-way, say). */
        void reset();
    }

    /** A fresh SHA-256. */
    public static Digest sha256() {
        return NATIVE ? new NativeDigest(Evp.SHA256, 32) : new JdkDigest("SHA-256");
    }

    /** A fresh MD5. */
    public static Digest md5() {
        return NATIVE ? new NativeDigest(Evp.MD5, 16) : new JdkDigest("MD5");
    }

    /** Whether digests come from libcrypto (false: the JDK's). */
    public static boolean nativeDigests() {
        return NATIVE;
    }

    private static boolean loadNative() {
        if ("java".equals(System.getProperty("coffer.digests"))) {
            return false;
        }
        try {
            Evp.init();
            // known answers for "abc" (FIPS 180-2, RFC 1321): a library that loads but answers wrong is not used
            byte[] abc = {'a', 'b', 'c'};
            byte[] sha = oneShot(new NativeDigest(Evp.SHA256, 32), abc);
            byte[] md5 = oneShot(new NativeDigest(Evp.MD5, 16), abc);
            HexFormat hex = HexFormat.of();
            if (!hex.formatHex(sha).equals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
                    || !hex.formatHex(md5).equals("900150983cd24fb0d6963f7d28e17f72")) {
                log.warn("libcrypto's digests failed their self-test; using the JDK's");
                return false;
            }
            return true;
        } catch (Throwable e) { // no libcrypto, no JNA native support, MD5 disabled (FIPS mode), ...
            log.debug("libcrypto digests unavailable, using the JDK's: {}", e.toString());
            return false;
        }
    }

    private static byte[] oneShot(Digest d, byte[] data) {
        d.update(data, 0, data.length);
        return d.digest();
    }

    /** The JDK's implementation. */
    private static final class JdkDigest implements Digest {
        private final MessageDigest md;

        JdkDigest(String algorithm) {
            try {
                md = MessageDigest.getInstance(algorithm);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("every Java platform has " + algorithm, e);
            }
        }

        @Override
        public void update(ByteBuffer b) {
            md.update(b);
        }

        @Override
        public void update(byte[] a, int off, int len) {
            md.update(a, off, len);
        }

        @Override
        public byte[] digest() {
            return md.digest();
        }

        @Override
        public void reset() {
            md.reset();
        }
    }

    /**
     * An OpenSSL {@code EVP_MD_CTX}, freed when the digest becomes unreachable. Heap bytes are copied
     * through a small direct buffer (JNA would copy a whole array per call); direct buffers are hashed
     * in place.
     */
    private static final class NativeDigest implements Digest {
        private static final Cleaner CLEANER = Cleaner.create();
        private static final int SCRATCH_BYTES = 64 << 10;
        /** Heap updates from this size on go through the thread's {@link Transfer} buffer, not the digest's own. */
        private static final int TRANSFER_FROM_BYTES = 4 << 10;
        private static final ThreadLocal<Transfer> TRANSFER = new ThreadLocal<>();

        private final Pointer type;
        private final int length;
        private final Pointer ctx;
        private ByteBuffer scratch;
        private long scratchAddress;
        private boolean started;

        NativeDigest(Pointer type, int length) {
            this.type = type;
            this.length = length;
            Pointer c = Evp.EVP_MD_CTX_new();
            if (c == null) {
                throw new OutOfMemoryError("EVP_MD_CTX_new failed");
            }
            this.ctx = c;
            long address = Pointer.nativeValue(c);
            CLEANER.register(this, () -> Evp.EVP_MD_CTX_free(new Pointer(address)));
        }

        private void start() {
            if (!started) {
                check(Evp.EVP_DigestInit_ex(ctx, type, null), "EVP_DigestInit_ex");
                started = true;
            }
        }

        @Override
        public void update(ByteBuffer b) {
            int n = b.remaining();
            if (n == 0) {
                return;
            }
            if (b.hasArray()) {
                update(b.array(), b.arrayOffset() + b.position(), n);
            } else {
                flush();
                start();
                long base = Pointer.nativeValue(Native.getDirectBufferPointer(b));
                check(Evp.EVP_DigestUpdate(ctx, new Pointer(base + b.position()), n), "EVP_DigestUpdate");
            }
            b.position(b.limit());
        }

        /**
         * Heap bytes are gathered in the direct scratch buffer and handed to libcrypto when it is full (or
         * before a direct update and at the end): a manifest fed 32 bytes at a time makes one native call
         * per 64 KiB, not one per hash.
         */
        @Override
        public void update(byte[] a, int off, int len) {
            java.util.Objects.checkFromIndexSize(off, len, a.length);
            if (len >= TRANSFER_FROM_BYTES) {
                updateThroughTransfer(a, off, len);
                return;
            }
            if (scratch == null && len > 0) {
                scratch = ByteBuffer.allocateDirect(SCRATCH_BYTES);
                scratchAddress = Pointer.nativeValue(Native.getDirectBufferPointer(scratch));
            }
            while (len > 0) {
                int n = Math.min(len, SCRATCH_BYTES - scratch.position());
                scratch.put(a, off, n);
                off += n;
                len -= n;
                if (!scratch.hasRemaining()) {
                    flush();
                }
            }
        }

        /**
         * A large heap update is copied, a piece at a time, through a direct buffer the thread keeps,
         * and handed to libcrypto at once. A digest's own scratch buffer is made only for small updates:
         * one per digest was a fresh, zeroed 64 KiB for every block a restore hashed (~2 ms per MiB of
         * first-touched memory on a virtual machine).
         */
        private void updateThroughTransfer(byte[] a, int off, int len) {
            flush();
            start();
            Transfer t = TRANSFER.get();
            if (t == null) {
                t = new Transfer(ByteBuffer.allocateDirect(SCRATCH_BYTES));
                TRANSFER.set(t);
            }
            while (len > 0) {
                int n = Math.min(len, SCRATCH_BYTES);
                t.buffer().clear();
                t.buffer().put(a, off, n);
                check(Evp.EVP_DigestUpdate(ctx, new Pointer(t.address()), n), "EVP_DigestUpdate");
                off += n;
                len -= n;
            }
        }

        /** A thread's direct buffer for large heap updates, and its address. */
        private record Transfer(ByteBuffer buffer, long address) {
            Transfer(ByteBuffer buffer) {
                this(buffer, Pointer.nativeValue(Native.getDirectBufferPointer(buffer)));
            }
        }

        private void flush() {
            if (scratch != null && scratch.position() > 0) {
                start();
                check(Evp.EVP_DigestUpdate(ctx, new Pointer(scratchAddress), scratch.position()), "EVP_DigestUpdate");
                scratch.clear();
            }
        }

        @Override
        public byte[] digest() {
            flush();
            start();
            byte[] out = new byte[length];
            check(Evp.EVP_DigestFinal_ex(ctx, out, null), "EVP_DigestFinal_ex");
            started = false;
            java.lang.ref.Reference.reachabilityFence(this);
            return out;
        }

        @Override
        public void reset() {
            started = false; // the next update initialises the context afresh
            if (scratch != null) {
                scratch.clear();
            }
        }

        private static void check(int ok, String what) {
            if (ok != 1) {
                throw new IllegalStateException("libcrypto " + what + " failed");
            }
        }
    }

    /**
     * Binds the three calls every digest makes (init, update, final) with JNA's direct mapping, for a
     * command that hashes many small blocks: a backup makes six calls per block, ~130,000 for the
     * reference workload's 20,000 files, and through {@link Function} each cost ~2 µs of argument
     * conversion and JNI type checks (~0.3 s of CPU in all); direct, ~0.2 µs. Registering costs ~20 ms
     * of CPU once (JNA describes the native types by reflection), which a one-file restore, with its few
     * calls, does better without; so it is a choice, made on a warm-up thread while the command starts.
     * Digests made before and after use whichever binding is current. Does nothing without libcrypto.
     */
    public static void bindDirectCalls() {
        if (NATIVE) {
            Evp.bindDirect();
        }
    }

    /**
     * libcrypto's EVP digest calls, through {@link Function}s by default rather than JNA's direct mapping
     * ({@code Native.register}): registering builds JNA's table of native type descriptions by
     * reflection (~20 ms of CPU at start, a tenth of a one-file restore's CPU), and a restore makes few
     * calls (one per 64 KiB fed, see {@link NativeDigest}), so the generic call's ~2 µs does not count.
     * A backup does ({@link #bindDirectCalls}).
     */
    private static final class Evp {
        private static final Object[] NO_ARGS = {};
        static Pointer SHA256;
        static Pointer MD5;
        private static NativeLibrary library;
        /** Whether {@link Direct} is registered: read on every call, set once. */
        private static volatile boolean direct;
        private static Function mdCtxNew;
        private static Function mdCtxFree;
        private static Function digestInit;
        private static Function digestUpdate;
        private static Function digestFinal;

        static void init() {
            NativeLibrary lib = null;
            UnsatisfiedLinkError first = null;
            // by soname first, OpenSSL 3 then 1.1, which the system's loader finds at once; the bare name
            // (the -dev package's symlink, or a search of JNA's path) only where neither is installed
            for (String name : new String[] {"libcrypto.so.3", "libcrypto.so.1.1", "crypto"}) {
                try {
                    lib = NativeLibrary.getInstance(name);
                    break;
                } catch (UnsatisfiedLinkError e) {
                    first = first == null ? e : first;
                }
            }
            if (lib == null) {
                throw first;
            }
            library = lib;
            mdCtxNew = lib.getFunction("EVP_MD_CTX_new");
            mdCtxFree = lib.getFunction("EVP_MD_CTX_free");
            digestInit = lib.getFunction("EVP_DigestInit_ex");
            digestUpdate = lib.getFunction("EVP_DigestUpdate");
            digestFinal = lib.getFunction("EVP_DigestFinal_ex");
            SHA256 = lib.getFunction("EVP_sha256").invokePointer(NO_ARGS);
            MD5 = lib.getFunction("EVP_md5").invokePointer(NO_ARGS);
            if (SHA256 == null || MD5 == null) {
                throw new IllegalStateException("libcrypto lacks SHA-256 or MD5: " + Arrays.asList(SHA256, MD5));
            }
        }

        static Pointer EVP_MD_CTX_new() {
            return mdCtxNew.invokePointer(NO_ARGS);
        }

        static void EVP_MD_CTX_free(Pointer ctx) {
            mdCtxFree.invokeVoid(new Object[] {ctx});
        }

        static synchronized void bindDirect() {
            if (!direct) {
                Native.register(Direct.class, library);
                direct = true;
            }
        }

        static int EVP_DigestInit_ex(Pointer ctx, Pointer type, Pointer engine) {
            return direct ? Direct.EVP_DigestInit_ex(ctx, type, engine) : digestInit.invokeInt(new Object[] {ctx, type, engine});
        }

        static int EVP_DigestUpdate(Pointer ctx, Pointer data, long count) {
            return direct ? Direct.EVP_DigestUpdate(ctx, data, count) : digestUpdate.invokeInt(new Object[] {ctx, data, count});
        }

        static int EVP_DigestFinal_ex(Pointer ctx, byte[] out, Pointer outLength) {
            return direct ? Direct.EVP_DigestFinal_ex(ctx, out, outLength) : digestFinal.invokeInt(new Object[] {ctx, out, outLength});
        }

        /** The same three calls, direct-mapped once {@link #bindDirect} has registered them. */
        private static final class Direct {
            static native int EVP_DigestInit_ex(Pointer ctx, Pointer type, Pointer engine);

            static native int EVP_DigestUpdate(Pointer ctx, Pointer data, long count);

            static native int EVP_DigestFinal_ex(Pointer ctx, byte[] out, Pointer outLength);
        }
    }
}
