package dev.coffer.agent.restore;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.agent.restore.CommitResult.Metadata;
import dev.coffer.agent.restore.CommitResult.Outcome;
import dev.coffer.agent.restore.RestoreException.Code;
import dev.coffer.dedup.Digests;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link RestoreTarget} that writes into a local directory (the restore root).
 *
 * <p>Each file is written with positional writes into {@code ROOT/.coffer-restore/partial/ID.part}
 * beside a resume journal {@code ID.journal} (see {@link ResumeJournal}); {@code ID} is derived
 * from the file's NTFS path and stream, so an interrupted restore finds its partial file again.
 * Commit checks the SHA-256 (computed incrementally, see {@link PartialFile}), sets the times,
 * stores NTFS attributes / creation time / security descriptor in {@code user.coffer.ntfs.*}
 * extended attributes (or a {@code NAME.coffer-meta.json} sidecar where the file system has no
 * user xattrs) and renames the file into place; when it is made durable depends on
 * {@link Durability}. Names are mapped by
 * {@link SafeNames} and resolved without following symlinks, so nothing lands outside the root.
 * Thread-safe.
 */
public final class DirectoryTarget implements RestoreTarget {
    private static final Logger log = LoggerFactory.getLogger(DirectoryTarget.class);
    /** Extended attribute names (the {@code user.} namespace is implied by Java's view). */
    static final String XATTR_ATTRIBUTES = "coffer.ntfs.attributes";
    static final String XATTR_CREATED = "coffer.ntfs.created";
    static final String XATTR_SECURITY = "coffer.ntfs.security_descriptor";
    /** Sidecar suffix for NTFS metadata where extended attributes are unavailable. */
    static final String SIDECAR_SUFFIX = ".coffer-meta.json";
    /** How many {@code name (N)} candidates RENAME tries before giving up. */
    static final int MAX_RENAME_ATTEMPTS = 10_000;
    /** Commit results remembered so that a commit retried after a lost reply answers the same. */
    static final int REMEMBERED_COMMITS = 4096;

    /** Where NTFS metadata goes. */
    public enum MetadataMode {
        /** Extended attributes where the file system supports them, else a sidecar. */
        AUTO,
        /** Always a sidecar file. */
        SIDECAR
    }

    /**
     * When committed files reach the disk. A commit is visible at once and survives a kill of the
     * process either way (the page cache does); these differ only in what a power loss can take.
     */
    public enum Durability {
        /**
         * Each commit fsyncs the file and, after the rename, its directory before it answers: for
         * the restore-target server, whose commit answers go to another machine.
         */
        EACH_COMMIT,
        /**
         * Commits only rename; {@link #close} makes every committed file durable at once (one
         * {@code syncfs(2)} of the root's file system, else an fsync of each file and directory),
         * and the restore reports success after it. For restores in this process: an fsync per
         * file and per directory made a tree of 20,000 files restore at 67 MiB/s.
         */
        AT_CLOSE
    }

    /**
     * Knobs of a directory target.
     *
     * @param metadata where NTFS metadata goes
     * @param syncEveryBytes fsync a partial file and its journal after this many bytes written to
     *     it, bounding what a power loss can cost a resume (a kill of the process costs nothing:
     *     the page cache survives it)
     * @param maxOpenUploads uploads open at once (each holds two file descriptors)
     * @param durability when committed files are forced to disk
     * @param directWrites write files of 1 MiB or more with {@code O_DIRECT} where the file system has it,
     *     past the page cache (see {@code PartialFile.openDirect}; docs/restore-target.md, "Direct writes")
     */
    public record Options(MetadataMode metadata, long syncEveryBytes, int maxOpenUploads, Durability durability,
            boolean directWrites) {
        public Options(MetadataMode metadata, long syncEveryBytes, int maxOpenUploads) {
            this(metadata, syncEveryBytes, maxOpenUploads, Durability.EACH_COMMIT, false);
        }

        /**
         * Defaults: AUTO; 256 MiB between fsyncs (about one second of the target rate, a re-send a resume can
         * afford); 1024 uploads (a pipeline has a few dozen in flight); EACH_COMMIT; through the page cache.
         */
        public static Options defaults() {
            return new Options(MetadataMode.AUTO, 256L << 20, 1024, Durability.EACH_COMMIT, false);
        }

        public Options withDurability(Durability d) {
            return new Options(metadata, syncEveryBytes, maxOpenUploads, d, directWrites);
        }

        public Options withDirectWrites(boolean on) {
            return new Options(metadata, syncEveryBytes, maxOpenUploads, durability, on);
        }
    }

    private final Path root;
    private final Path partialDir;
    private final SafeNames names;
    private final Options options;
    private final ConcurrentHashMap<String, PartialFile> open = new ConcurrentHashMap<>();
    /** Serialises the choice of final names and the renames into place. */
    private final Object placeLock = new Object();
    /** @GuardedBy("itself") */
    private final Map<String, CommitResult> recentCommits = new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, CommitResult> eldest) {
            return size() > REMEMBERED_COMMITS;
        }
    };
    /** For metadata sidecars only; built on first use (Jackson's set-up is ~10 ms of a short restore). */
    private ObjectMapper json;
    /** AT_CLOSE: from this many committed files and directories on, one syncfs replaces their fsyncs. */
    static final int SYNCFS_FROM_PATHS = 256;
    /** AT_CLOSE only: committed files and their directories, forced at close when syncfs is unavailable. */
    private final Set<Path> unsynced = ConcurrentHashMap.newKeySet();

    private DirectoryTarget(Path root, Path partialDir, SafeNames names, Options options) {
        this.root = root;
        this.partialDir = partialDir;
        this.names = names;
        this.options = options;
    }

    /**
     * Opens a restore root (which must be an existing directory), creating its work directory and
     * probing whether its names are case-insensitive.
     */
    public static DirectoryTarget open(Path root, Options options) throws IOException {
        Path real = root.toRealPath();
        if (!Files.isDirectory(real)) {
            throw new RestoreException(Code.CONFLICT, "restore root " + root + " is not a directory");
        }
        Path work = real.resolve(SafeNames.WORK_DIR);
        Path partial = work.resolve("partial");
        for (Path p : List.of(work, partial)) {
            try {
                Files.createDirectory(p);
            } catch (FileAlreadyExistsException e) {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (!a.isDirectory()) {
                    throw new RestoreException(Code.UNSAFE_PATH, "work directory " + p + " is not a real directory");
                }
            }
        }
        boolean caseInsensitive = SafeNames.probeCaseInsensitive(work);
        log.info("restore target open root={} caseInsensitive={}", real, caseInsensitive);
        return new DirectoryTarget(real, partial, new SafeNames(caseInsensitive), options);
    }

    /** The root (its real path). */
    public Path root() {
        return root;
    }

    /** The name mapper of this root. */
    public SafeNames names() {
        return names;
    }

    /** The stable upload id of a file: 32 hex digits of the SHA-256 of its NTFS path and stream. */
    static String uploadId(RestoreFile f) {
        return uploadId(f.path(), f.stream());
    }

    /** The stable upload id of an NTFS path and stream. */
    static String uploadId(List<String> path, String stream) {
        Digests.Digest md = Digests.sha256(); // not the JDK's: see FileRestore.treeHash
        for (String c : path) {
            byte[] b = lengthPrefixed(c);
            md.update(b, 0, b.length);
        }
        byte[] last = stream == null ? new byte[] {0} : lengthPrefixed(stream);
        md.update(last, 0, last.length);
        return PartialFile.hex(md.digest()).substring(0, 32);
    }

    private static byte[] lengthPrefixed(String s) {
        byte[] utf16 = s.getBytes(StandardCharsets.UTF_16LE);
        return ByteBuffer.allocate(4 + utf16.length).putInt(utf16.length).put(utf16).array();
    }

    @Override
    public Upload begin(RestoreFile file) throws RestoreException {
        SafeNames.MappedPath mapped = names.map(file.path(), file.stream());
        String id = uploadId(file);
        Path target = SafeNames.resolveInside(root, mapped.components(), false);
        if (file.policy() == ExistingPolicy.SKIP && Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            return new Upload(file, id, mapped.joined(), true, List.of(), mapped.mappings());
        }
        PartialFile p;
        synchronized (open) {
            p = open.get(id);
            if (p != null && p.isClosed()) {
                open.remove(id, p); // closed after a failed placement: reopen from disk, keeping what was written
                p = null;
            } else if (p != null && !p.file.equals(file)) {
                discardQuietly(open.remove(id)); // another version of the file: start over
                p = null;
            }
            if (p == null) {
                if (open.size() >= options.maxOpenUploads()) {
                    throw new RestoreException(Code.LIMIT_EXCEEDED, "restore root " + root + ": more than "
                            + options.maxOpenUploads() + " uploads open; commit or abort some first");
                }
                try {
                    p = PartialFile.open(partialDir, id, file, mapped, options.syncEveryBytes(), options.directWrites());
                } catch (IOException e) {
                    throw io("cannot open partial file for " + file.displayName() + " in " + partialDir, e);
                }
                open.put(id, p);
            }
        }
        List<ByteRange> verified = p.writtenRanges();
        log.debug("restore begin file={} id={} verifiedRanges={}", file.displayName(), id, verified.size());
        return new Upload(file, id, mapped.joined(), false, verified, mapped.mappings());
    }

    @Override
    public void write(Upload upload, long offset, ByteBuffer data) throws RestoreException {
        write(upload, offset, new ByteBuffer[] {data});
    }

    /** Writes a chunk given as consecutive parts (their remaining bytes; positions are not moved). */
    void write(Upload upload, long offset, ByteBuffer[] parts) throws RestoreException {
        if (upload.skip()) {
            throw new RestoreException(Code.BAD_REQUEST, "write to skipped file " + upload.targetPath());
        }
        long total = 0;
        for (ByteBuffer b : parts) {
            total += b.remaining();
        }
        if (total > MAX_CHUNK_BYTES) {
            throw new RestoreException(Code.LIMIT_EXCEEDED, "chunk of " + total + " bytes at offset " + offset
                    + " of " + upload.targetPath() + " exceeds " + MAX_CHUNK_BYTES);
        }
        int length = (int) total;
        long size = upload.file().size();
        if (offset < 0 || offset > size || length > size - offset) {
            throw new RestoreException(Code.BAD_REQUEST, "chunk [" + offset + ", +" + length + ") outside "
                    + upload.targetPath() + " of " + size + " bytes");
        }
        PartialFile p = openUpload(upload);
        p.lifecycle.readLock().lock();
        try {
            if (p.isClosed()) {
                throw unknown(upload);
            }
            p.write(offset, parts);
        } catch (IOException e) {
            throw io("write of " + length + " bytes at offset " + offset + " of " + p.dataPath + " failed", e);
        } finally {
            p.lifecycle.readLock().unlock();
        }
    }

    @Override
    public CommitResult commit(Upload upload) throws RestoreException {
        if (upload.skip()) {
            return new CommitResult(Outcome.SKIPPED, upload.targetPath(), upload.mappings(), Metadata.NONE);
        }
        PartialFile p = open.get(upload.id());
        if (p == null || !p.file.equals(upload.file())) {
            synchronized (recentCommits) {
                CommitResult done = recentCommits.get(upload.id() + "/" + PartialFile.hex(upload.file().sha256()));
                if (done != null) {
                    return done;
                }
            }
            throw unknown(upload);
        }
        p.lifecycle.writeLock().lock();
        try {
            if (p.isClosed()) {
                throw unknown(upload);
            }
            RestoreFile f = p.file;
            if (!p.complete()) {
                throw new RestoreException(Code.INCOMPLETE, "commit of " + f.displayName() + ": written "
                        + p.writtenRanges() + ", expected [0, " + f.size() + ")");
            }
            byte[] digest = p.finishHash();
            if (!MessageDigest.isEqual(digest, f.sha256())) {
                open.remove(p.id, p);
                discardQuietly(p);
                throw new RestoreException(Code.HASH_MISMATCH, "commit of " + f.displayName() + " (" + p.dataPath
                        + "): " + (f.blockBytes() == 0 ? "" : "block-tree (" + f.blockBytes() + "-byte blocks) ")
                        + "SHA-256 expected " + PartialFile.hex(f.sha256()) + ", found " + PartialFile.hex(digest)
                        + "; partial file discarded");
            }
            p.truncate(options.durability() == Durability.EACH_COMMIT);
            setTimes(p.dataPath, f.times());
            Metadata meta = hasMetadata(f) && options.metadata() == MetadataMode.AUTO && writeXattrs(p.dataPath, f)
                    ? Metadata.XATTR : Metadata.NONE;
            p.close();
            CommitResult result = place(p, meta);
            open.remove(p.id, p);
            p.deleteJournal();
            synchronized (recentCommits) {
                recentCommits.put(upload.id() + "/" + PartialFile.hex(f.sha256()), result);
            }
            log.debug("restore commit file={} outcome={} path={}", f.displayName(), result.outcome(), result.path());
            return result;
        } catch (IOException e) {
            if (p.isClosed()) {
                open.remove(p.id, p); // closed before placing failed: a new begin reopens it from disk
            }
            throw io("commit of " + upload.file().displayName() + " failed", e);
        } finally {
            p.lifecycle.writeLock().unlock();
        }
    }

    /** Moves the verified partial file to its final name per the policy. Caller holds p's write lock. */
    private CommitResult place(PartialFile p, Metadata meta) throws IOException {
        RestoreFile f = p.file;
        List<String> comps = new ArrayList<>(p.mapped.components());
        synchronized (placeLock) {
            Path target = SafeNames.resolveInside(root, comps, true);
            BasicFileAttributes existing = attributesOrNull(target);
            Outcome outcome = Outcome.WRITTEN;
            if (existing != null) {
                switch (f.policy()) {
                    case SKIP -> {
                        p.discard();
                        return new CommitResult(Outcome.SKIPPED, String.join("/", comps), p.mapped.mappings(), Metadata.NONE);
                    }
                    case OVERWRITE -> {
                        if (existing.isDirectory()) {
                            throw new RestoreException(Code.CONFLICT, "cannot overwrite directory " + target
                                    + " with file " + f.displayName());
                        }
                        outcome = Outcome.OVERWRITTEN;
                    }
                    case RENAME -> {
                        target = reserveRenamed(target, comps);
                        outcome = Outcome.RENAMED;
                    }
                    default -> throw new IllegalStateException("policy " + f.policy());
                }
            }
            try {
                Files.move(p.dataPath, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new RestoreException(Code.IO_ERROR, "cannot rename " + p.dataPath + " to " + target
                        + " atomically (different file systems under the root?)", e);
            }
            if (options.durability() == Durability.EACH_COMMIT) {
                fsyncDirectory(target.getParent());
            } else {
                unsynced.add(target);
                unsynced.add(target.getParent());
            }
            if (hasMetadata(f) && meta == Metadata.NONE) {
                writeSidecar(target, f);
                meta = Metadata.SIDECAR;
            }
            return new CommitResult(outcome, String.join("/", comps), p.mapped.mappings(), meta);
        }
    }

    /** Reserves {@code name (N).ext} with an exclusive create (never replacing anything) and updates comps. Caller holds placeLock. */
    private Path reserveRenamed(Path target, List<String> comps) throws IOException {
        String name = comps.get(comps.size() - 1);
        for (int n = 1; n <= MAX_RENAME_ATTEMPTS; n++) {
            String candidate = SafeNames.withSuffix(name, " (" + n + ")");
            Path c = target.resolveSibling(candidate);
            try {
                Files.createFile(c);
                comps.set(comps.size() - 1, candidate);
                return c;
            } catch (FileAlreadyExistsException e) {
                // taken (by a file, directory or symlink): try the next number
            }
        }
        throw new RestoreException(Code.LIMIT_EXCEEDED, "no free name for " + target + " after "
                + MAX_RENAME_ATTEMPTS + " attempts");
    }

    @Override
    public void abort(Upload upload) throws RestoreException {
        abort(upload.id(), upload.file().displayName());
    }

    /** Aborts upload {@code id} (open or only on disk); {@code display} names it in errors. */
    void abort(String id, String display) throws RestoreException {
        PartialFile p = open.remove(id);
        try {
            if (p != null) {
                p.lifecycle.writeLock().lock();
                try {
                    p.discard();
                } finally {
                    p.lifecycle.writeLock().unlock();
                }
            } else {
                Files.deleteIfExists(partialDir.resolve(id + ".part"));
                Files.deleteIfExists(partialDir.resolve(id + ".journal"));
            }
        } catch (IOException e) {
            throw io("abort of " + display + " failed", e);
        }
    }

    @Override
    public List<ByteRange> status(RestoreFile file) throws RestoreException {
        return status(uploadId(file), file);
    }

    /** The verified ranges of upload {@code id}, whose size and hash {@code file} gives. */
    List<ByteRange> status(String id, RestoreFile file) throws RestoreException {
        PartialFile p = open.get(id);
        if (p != null && !p.isClosed() && p.file.size() == file.size()
                && MessageDigest.isEqual(p.file.sha256(), file.sha256()) && p.file.blockBytes() == file.blockBytes()) {
            return p.writtenRanges();
        }
        try {
            return PartialFile.verifiedOnDisk(partialDir, id, file);
        } catch (IOException e) {
            throw io("cannot read the resume journal of " + file.displayName(), e);
        }
    }

    /** The open upload with this id, for the server, or {@code null}. */
    Upload openUpload(String id) {
        PartialFile p = open.get(id);
        return p == null ? null : new Upload(p.file, p.id, p.mapped.joined(), false, List.of(), p.mapped.mappings());
    }

    /** Closes uploads unused for longer than {@code idle} (their partial files stay resumable); returns how many. */
    public int closeIdle(Duration idle) {
        int n = 0;
        for (PartialFile p : open.values()) {
            if (p.idleNanos() > idle.toNanos() && p.lifecycle.writeLock().tryLock()) {
                try {
                    if (open.remove(p.id, p)) {
                        p.close();
                        n++;
                    }
                } catch (IOException e) {
                    log.warn("restore close idle upload failed id={} error={}", p.id, e.toString());
                } finally {
                    p.lifecycle.writeLock().unlock();
                }
            }
        }
        return n;
    }

    /** How many uploads are open. */
    public int openUploads() {
        return open.size();
    }

    @Override
    public void close() throws IOException {
        for (PartialFile p : open.values()) {
            p.lifecycle.writeLock().lock();
            try {
                open.remove(p.id, p);
                p.close();
            } finally {
                p.lifecycle.writeLock().unlock();
            }
        }
        if (!unsynced.isEmpty()) {
            syncCommitted();
        }
    }

    /**
     * AT_CLOSE: forces what was committed. Many files: one syncfs where libc has it (it also flushes
     * whatever else is dirty on that file system, which a few files should not wait for). A few
     * files, or no syncfs: an fsync of each file, then of each directory.
     */
    private void syncCommitted() throws IOException {
        if (unsynced.size() > SYNCFS_FROM_PATHS && FileSystemSync.syncfs(root)) {
            log.debug("restore durable files={} via=syncfs root={}", unsynced.size(), root);
            unsynced.clear();
            return;
        }
        List<Path> dirs = new ArrayList<>();
        for (Path path : unsynced) {
            if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                dirs.add(path);
            } else if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
                try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                    ch.force(true);
                }
            }
        }
        for (Path dir : dirs) {
            fsyncDirectory(dir);
        }
        log.debug("restore durable files={} via=fsync root={}", unsynced.size() - dirs.size(), root);
        unsynced.clear();
    }

    private PartialFile openUpload(Upload upload) throws RestoreException {
        PartialFile p = open.get(upload.id());
        if (p == null || !p.file.equals(upload.file())) {
            throw unknown(upload);
        }
        return p;
    }

    private static RestoreException unknown(Upload upload) {
        return new RestoreException(Code.UNKNOWN_UPLOAD, "no open upload " + upload.id() + " for "
                + upload.file().displayName() + "; begin it again");
    }

    private static RestoreException io(String what, IOException e) {
        if (e instanceof RestoreException r) {
            return r;
        }
        return new RestoreException(Code.IO_ERROR, what + ": " + e, e);
    }

    private static void discardQuietly(PartialFile p) {
        if (p == null) {
            return;
        }
        p.lifecycle.writeLock().lock();
        try {
            p.discard();
        } catch (IOException e) {
            log.warn("restore discard failed path={} error={}", p.dataPath, e.toString());
        } finally {
            p.lifecycle.writeLock().unlock();
        }
    }

    private static BasicFileAttributes attributesOrNull(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static boolean hasMetadata(RestoreFile f) {
        return f.attributes() != 0 || f.securityDescriptor() != null || f.times().created() != null;
    }

    private static void setTimes(Path p, FileTimes t) throws IOException {
        if (t.modified() == null && t.accessed() == null && t.created() == null) {
            return;
        }
        Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setTimes(
                t.modified() == null ? null : FileTime.from(t.modified()),
                t.accessed() == null ? null : FileTime.from(t.accessed()),
                t.created() == null ? null : FileTime.from(t.created()));
    }

    /** Writes the NTFS metadata as user xattrs; false when the file system cannot hold them (then a sidecar is written). */
    private static boolean writeXattrs(Path p, RestoreFile f) {
        UserDefinedFileAttributeView view = Files.getFileAttributeView(p, UserDefinedFileAttributeView.class);
        if (view == null) {
            return false;
        }
        try {
            view.write(XATTR_ATTRIBUTES, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, f.attributes()));
            if (f.times().created() != null) {
                view.write(XATTR_CREATED, StandardCharsets.UTF_8.encode(FileTimes.iso(f.times().created())));
            }
            if (f.securityDescriptor() != null) {
                view.write(XATTR_SECURITY, ByteBuffer.wrap(f.securityDescriptor()));
            }
            return true;
        } catch (UnsupportedOperationException | FileSystemException e) {
            // ENOTSUP, or a descriptor bigger than the file system allows in one xattr: fall back to a sidecar
            log.debug("restore xattr unavailable path={} error={}", p, e.toString());
            for (String n : List.of(XATTR_ATTRIBUTES, XATTR_CREATED, XATTR_SECURITY)) {
                try {
                    view.delete(n);
                } catch (IOException | UnsupportedOperationException ignored) {
                    // not there
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    /** Writes {@code NAME.coffer-meta.json} beside the file: temp, fsync, rename. Caller holds placeLock. */
    private void writeSidecar(Path target, RestoreFile f) throws IOException {
        if (json == null) {
            json = new ObjectMapper();
        }
        ObjectNode n = json.createObjectNode();
        n.put("format", "coffer-ntfs-metadata");
        n.put("version", 1);
        n.put("file", target.getFileName().toString());
        if (f.stream() != null) {
            n.put("stream", f.stream());
        }
        n.put("attributes", f.attributes());
        if (f.times().created() != null) {
            n.put("created", FileTimes.iso(f.times().created()));
        }
        if (f.securityDescriptor() != null) {
            n.put("securityDescriptor", Base64.getEncoder().encodeToString(f.securityDescriptor()));
        }
        byte[] bytes = json.writerWithDefaultPrettyPrinter().writeValueAsBytes(n);
        String name = SafeNames.withSuffix(target.getFileName().toString() + SIDECAR_SUFFIX, "");
        Path sidecar = target.resolveSibling(name);
        Path tmp = partialDir.resolve(uploadIdTemp(target));
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        Files.move(tmp, sidecar, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        fsyncDirectory(target.getParent());
    }

    private static String uploadIdTemp(Path target) {
        return "sidecar-" + Integer.toHexString(target.hashCode()) + "-" + Long.toHexString(System.nanoTime()) + ".tmp";
    }

    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems refuse fsync on a directory; the rename itself is still atomic.
            log.debug("restore directory fsync unsupported dir={} error={}", dir, e.toString());
        }
    }
}
