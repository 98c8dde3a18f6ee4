package dev.coffer.agent.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The daemon's own small durable state beside the catalog ({@code CATALOG.agent-state.json}): the
 * backup jobs that are queued or running (so a restart re-runs them) and the storage snapshots each
 * datastore has already shown (so a restart neither repeats nor misses one). Written whole, temp →
 * fsync → rename, on every change; a job is removed only after its backup is complete or failed.
 */
final class StateStore {
    /** A state file larger than this is not ours (it holds a few hundred jobs and names at most). */
    static final long MAX_BYTES = 16 << 20;

    /**
     * A pending backup job as the file keeps it.
     *
     * @param seq the job's number (ids are {@code j-SEQ})
     * @param queuedAt when it was queued; a complete backup of its VM and policy started at or after
     *     this instant means it already ran (see {@link AgentDaemon} recovery)
     */
    record Pending(long seq, Job.Spec spec, Instant queuedAt) {}

    private final Path file;
    private final ObjectMapper mapper = new ObjectMapper();
    private final Map<Long, Pending> jobs = new LinkedHashMap<>();
    private final Map<String, Set<String>> snapshots = new LinkedHashMap<>();
    private long nextSeq = 1;

    StateStore(Path file) {
        this.file = file;
    }

    static Path fileFor(Path catalog) {
        return catalog.resolveSibling(catalog.getFileName() + ".agent-state.json");
    }

    /** Reads the file if it exists; a corrupt one names the file and is an error (the operator decides). */
    synchronized void load() throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        if (Files.size(file) > MAX_BYTES) {
            throw new IOException(file + ": " + Files.size(file) + " bytes is not an agent state file");
        }
        JsonNode root;
        try {
            root = mapper.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not a readable agent state file (" + e.getMessage()
                    + "); move it away to start fresh", e);
        }
        nextSeq = Math.max(1, root.path("nextSeq").asLong(1));
        for (JsonNode j : root.path("jobs")) {
            Job.Spec s = new Job.Spec(Job.Kind.BACKUP, j.path("policy").asText(), j.path("datastore").asText(),
                    Path.of(j.path("folder").asText()), j.path("trigger").asText(),
                    j.hasNonNull("snapshot") ? j.get("snapshot").asText() : null, j.path("priority").asInt(50), null, null,
                    j.hasNonNull("source") ? j.get("source").asText() : null, j.path("full").asBoolean(false));
            long seq = j.path("seq").asLong();
            jobs.put(seq, new Pending(seq, s, Instant.parse(j.path("queuedAt").asText())));
        }
        JsonNode snaps = root.path("snapshots");
        snaps.fieldNames().forEachRemaining(ds -> {
            Set<String> names = new LinkedHashSet<>();
            snaps.get(ds).forEach(n -> names.add(n.asText()));
            snapshots.put(ds, names);
        });
    }

    synchronized long nextSeq() throws IOException {
        long s = nextSeq++;
        save();
        return s;
    }

    synchronized List<Pending> pending() {
        return new ArrayList<>(jobs.values());
    }

    synchronized void add(Pending p) throws IOException {
        jobs.put(p.seq(), p);
        save();
    }

    synchronized void remove(long seq) throws IOException {
        if (jobs.remove(seq) != null) {
            save();
        }
    }

    /** The snapshot names seen on a datastore, or null when the datastore was never listed. */
    synchronized Set<String> seen(String datastore) {
        Set<String> s = snapshots.get(datastore);
        return s == null ? null : Set.copyOf(s);
    }

    /** Records the names now present (names that disappeared are dropped, so the file stays small). */
    synchronized void seen(String datastore, Set<String> names) throws IOException {
        snapshots.put(datastore, new LinkedHashSet<>(names));
        save();
    }

    private void save() throws IOException {
        ObjectNode root = mapper.createObjectNode();
        root.put("version", 1);
        root.put("nextSeq", nextSeq);
        ArrayNode arr = root.putArray("jobs");
        for (Pending p : jobs.values()) {
            ObjectNode j = arr.addObject();
            j.put("seq", p.seq());
            j.put("policy", p.spec().policy());
            j.put("datastore", p.spec().datastore());
            j.put("folder", p.spec().vmFolder().toString());
            j.put("trigger", p.spec().trigger());
            j.put("snapshot", p.spec().snapshot());
            j.put("priority", p.spec().priority());
            if (p.spec().source() != null) {
                j.put("source", p.spec().source());
            }
            if (p.spec().reread()) {
                j.put("full", true);
            }
            j.put("queuedAt", p.queuedAt().toString());
        }
        ObjectNode snaps = root.putObject("snapshots");
        snapshots.forEach((ds, names) -> {
            ArrayNode a = snaps.putArray(ds);
            names.forEach(a::add);
        });
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        byte[] bytes = mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap(bytes));
            ch.force(true);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        try (FileChannel dir = FileChannel.open(file.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException ignored) {
            // some filesystems refuse to open a directory; the rename is still atomic
        }
    }
}
