package dev.coffer.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.agent.api.ApiClient;
import dev.coffer.catalog.BackupInfo;
import dev.coffer.catalog.BackupState;
import dev.coffer.catalog.DiffEntry;
import dev.coffer.catalog.Entry;
import dev.coffer.catalog.FileKind;
import dev.coffer.catalog.Page;
import dev.coffer.catalog.VersionSpan;
import dev.coffer.catalog.VmInfo;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The catalog questions the listing commands ask, answered either from the catalog file
 * ({@link #local}) or by the running agent over its query socket ({@link #agent}). Both return the
 * catalog's own records, so each command prints the same table and JSON whichever answered.
 */
interface Queries extends AutoCloseable {
    /** Backups with the display name of each one's VM. */
    record Backups(List<BackupInfo> backups, Map<Long, String> vmNames) {}

    /** A directory listing: the backup it came from and its entries. */
    record Listing(long backupId, String path, List<Entry> entries) {}

    /** Every backup, or those of {@code vm} (display name, folder or uuid). */
    Backups backups(String vm) throws IOException;

    /** Entries {@code [offset, offset + limit)} of the directory {@code target} ({@code [VM@]ID|latest[:/PATH]}); limit 0 = all. */
    Listing list(String target, String vm, String volume, int offset, int limit) throws IOException;

    /** Versions whose name matches {@code pattern} (a glob, or with {@code regex} a regex over the path). */
    List<VersionSpan> find(String pattern, boolean regex, String backup, String vm, int limit) throws IOException;

    /** Every version of the path {@code target} names ({@code [VM@]ID|latest:/PATH}). */
    List<VersionSpan> history(String target, String vm, String volume) throws IOException;

    /** The difference between two backups ({@code [VM@]ID|latest}). */
    List<DiffEntry> diff(String before, String after, String vm) throws IOException;

    @Override
    void close() throws IOException;

    /** Listings are fetched in pages of this many entries (the catalog's and API's cap is larger). */
    int PAGE = 10_000;

    /** The agent named by {@code options} when one answers, else the catalog file. */
    static Queries open(SessionOptions options) throws IOException {
        var agent = options.agent();
        return agent.isPresent() ? agent(agent.get()) : local(Session.open(options, false));
    }

    /** Answers from the catalog file of {@code s}, which is closed with this. */
    static Queries local(Session s) {
        return new Queries() {
            @Override
            public Backups backups(String vm) throws IOException {
                Map<Long, String> names = new HashMap<>();
                for (VmInfo v : s.catalog().vms()) {
                    names.put(v.id(), v.displayName());
                }
                List<BackupInfo> list = vm == null ? s.catalog().backups()
                        : s.catalog().backups(BackupRef.vm(s.catalog(), vm, vm).id());
                return new Backups(list, names);
            }

            @Override
            public Listing list(String target, String vm, String volume, int offset, int limit) throws IOException {
                BackupRef ref = BackupRef.resolve(s.catalog(), target, vm, volume);
                List<Entry> entries = new ArrayList<>();
                int want = limit > 0 ? limit : Integer.MAX_VALUE;
                for (int at = Math.max(0, offset); entries.size() < want; ) {
                    int page = Math.min(PAGE, want - entries.size());
                    Page<Entry> p = s.catalog().list(ref.backup().id(), ref.volume().id(), ref.path(), at, page);
                    entries.addAll(p.items());
                    at += p.items().size();
                    if (p.items().isEmpty() || at >= p.total()) {
                        break;
                    }
                }
                return new Listing(ref.backup().id(), ref.path(), entries);
            }

            @Override
            public List<VersionSpan> find(String pattern, boolean regex, String backup, String vm, int limit)
                    throws IOException {
                OptionalLong in = backup == null ? OptionalLong.empty()
                        : OptionalLong.of(BackupRef.named(s.catalog(), backup, vm).id());
                return regex ? s.catalog().findRegex(pattern, in, limit) : s.catalog().findGlob(pattern, in, limit);
            }

            @Override
            public List<VersionSpan> history(String target, String vm, String volume) throws IOException {
                BackupRef ref = BackupRef.resolve(s.catalog(), target, vm, volume);
                return s.catalog().history(ref.volume().id(), ref.path());
            }

            @Override
            public List<DiffEntry> diff(String before, String after, String vm) throws IOException {
                return s.catalog().diff(BackupRef.named(s.catalog(), before, vm).id(),
                        BackupRef.named(s.catalog(), after, vm).id());
            }

            @Override
            public void close() throws IOException {
                s.close();
            }
        };
    }

    /** Answers from the agent behind {@code api}. */
    static Queries agent(ApiClient api) {
        return new Queries() {
            @Override
            public Backups backups(String vm) throws IOException {
                JsonNode r = Agent.get(api, "/v1/backups" + Agent.query("vm", vm));
                List<BackupInfo> list = new ArrayList<>();
                Map<Long, String> names = new HashMap<>();
                for (JsonNode b : r.path("backups")) {
                    BackupInfo info = new BackupInfo(b.path("id").asLong(), b.path("vmId").asLong(),
                            BackupState.valueOf(b.path("state").asText().toUpperCase(Locale.ROOT)),
                            instant(b.get("started")), instant(b.get("ended")), Agent.text(b, "consistency"),
                            Agent.text(b, "policy"), Agent.text(b, "error"), b.path("files").asLong(),
                            b.path("logicalBytes").asLong(), b.path("newBytes").asLong(), b.path("storedBytes").asLong());
                    list.add(info);
                    if (b.hasNonNull("vm")) {
                        names.put(info.vmId(), b.get("vm").asText());
                    }
                }
                return new Backups(list, names);
            }

            @Override
            public Listing list(String target, String vm, String volume, int offset, int limit) throws IOException {
                List<Entry> entries = new ArrayList<>();
                int want = limit > 0 ? limit : Integer.MAX_VALUE;
                long backup = 0;
                String path = null;
                for (int at = Math.max(0, offset); ; ) {
                    int page = Math.min(PAGE, want - entries.size());
                    JsonNode r = Agent.get(api, "/v1/ls" + Agent.query("backup", target, "vm", vm, "volume", volume,
                            "offset", Integer.toString(at), "limit", Integer.toString(page)));
                    backup = r.path("backup").asLong();
                    path = r.path("path").asText();
                    int got = 0;
                    for (JsonNode e : r.path("entries")) {
                        entries.add(entry(e));
                        got++;
                    }
                    at += got;
                    if (got == 0 || at >= r.path("total").asLong() || entries.size() >= want) {
                        break;
                    }
                }
                return new Listing(backup, path, entries);
            }

            @Override
            public List<VersionSpan> find(String pattern, boolean regex, String backup, String vm, int limit)
                    throws IOException {
                JsonNode r = Agent.get(api, "/v1/find" + Agent.query(regex ? "regex" : "pattern", pattern, "backup", backup,
                        "vm", backup == null ? null : vm, "limit", Integer.toString(limit)));
                return spans(r.path("results"));
            }

            @Override
            public List<VersionSpan> history(String target, String vm, String volume) throws IOException {
                JsonNode r = Agent.get(api, "/v1/history" + Agent.query("backup", target, "vm", vm, "volume", volume));
                return spans(r.path("versions"));
            }

            @Override
            public List<DiffEntry> diff(String before, String after, String vm) throws IOException {
                JsonNode r = Agent.get(api, "/v1/diff" + Agent.query("before", before, "after", after, "vm", vm));
                List<DiffEntry> out = new ArrayList<>();
                for (JsonNode d : r.path("changes")) {
                    out.add(new DiffEntry(0, d.path("path").asText(),
                            DiffEntry.Change.valueOf(d.path("change").asText().toUpperCase(Locale.ROOT)),
                            d.path("sizeBefore").asLong(), d.path("sizeAfter").asLong()));
                }
                return out;
            }

            @Override
            public void close() {
                // one connection per request: nothing stays open
            }
        };
    }

    private static List<VersionSpan> spans(JsonNode arr) {
        List<VersionSpan> out = new ArrayList<>();
        for (JsonNode v : arr) {
            List<Long> ids = new ArrayList<>();
            v.path("backups").forEach(x -> ids.add(x.asLong()));
            out.add(new VersionSpan(entry(v), ids));
        }
        return out;
    }

    /** An entry as the API shows it (fields the API leaves out are 0: they are not printed). */
    private static Entry entry(JsonNode e) {
        return new Entry(0, 0, e.path("path").asText(), e.path("name").asText(),
                FileKind.valueOf(e.path("kind").asText().toUpperCase(Locale.ROOT)), e.path("size").asLong(),
                e.path("mftRecord").asLong(), e.path("mftSequence").asInt(), 0, nanos(e.get("created")),
                nanos(e.get("modified")), nanos(e.get("mftChanged")), nanos(e.get("accessed")),
                e.path("attributes").asInt(), 0, e.path("validFrom").asLong(), e.path("validTo").asLong());
    }

    private static Instant instant(JsonNode n) {
        return n == null || n.isNull() ? null : Instant.parse(n.asText());
    }

    private static long nanos(JsonNode n) {
        Instant t = instant(n);
        if (t == null) {
            return 0;
        }
        // the inverse of Instant.ofEpochSecond(floorDiv, floorMod); for negative seconds one second is
        // borrowed so that Long.MIN_VALUE itself (the catalog's "unknown" for some times) round-trips
        long sec = t.getEpochSecond();
        return sec < 0 ? Math.addExact(Math.multiplyExact(sec + 1, 1_000_000_000L), t.getNano() - 1_000_000_000L)
                : Math.addExact(Math.multiplyExact(sec, 1_000_000_000L), t.getNano());
    }
}
