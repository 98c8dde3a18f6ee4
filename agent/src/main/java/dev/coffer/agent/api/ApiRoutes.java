package dev.coffer.agent.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.agent.cli.BackupRef;
import dev.coffer.agent.config.AgentConfig;
import dev.coffer.agent.config.ConfigException;
import dev.coffer.agent.daemon.AgentDaemon;
import dev.coffer.agent.daemon.Job;
import dev.coffer.agent.daemon.RestoreRequest;
import dev.coffer.agent.discovery.Discovery;
import dev.coffer.agent.discovery.VirtualMachine;
import dev.coffer.agent.rebuild.DiskLayout;
import dev.coffer.catalog.BackupInfo;
import dev.coffer.catalog.Catalog;
import dev.coffer.catalog.CatalogException;
import dev.coffer.catalog.DiffEntry;
import dev.coffer.catalog.DiskInfo;
import dev.coffer.catalog.Entry;
import dev.coffer.catalog.NoSuchPathException;
import dev.coffer.catalog.Page;
import dev.coffer.catalog.Stat;
import dev.coffer.catalog.StreamInfo;
import dev.coffer.catalog.VersionSpan;
import dev.coffer.catalog.VmInfo;
import dev.coffer.catalog.VolumeInfo;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Semaphore;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The query API's routes: each takes a decoded request and returns a response or throws
 * {@link ApiException}. Every route is listed with its parameters and answers in {@code docs/api.md}.
 */
final class ApiRoutes {
    /** Query parameters read from one request: 32 is more than any route takes. */
    static final int MAX_PARAMS = 32;
    /** Default and largest page of ls and find (the catalog's own cap is {@link Catalog#MAX_PAGE}). */
    static final int DEFAULT_LIMIT = 1000;

    /** A request as the routes see it (copied off the event loop's buffers). */
    record Request(String method, String uri, byte[] body, String contentType) {}

    private final AgentDaemon daemon;
    private final Metrics metrics;

    ApiRoutes(AgentDaemon daemon, Metrics metrics) {
        this.daemon = daemon;
        this.metrics = metrics;
    }

    /** {@code /v1/backups/{id}/disks/{n}/image} ({@code id} may also be {@code latest} or {@code VM@latest}): the one route that streams. */
    private static final Pattern IMAGE = Pattern.compile("/v1/backups/([^/]+)/disks/([^/]+)/image");

    /**
     * The disk image {@code r} asks for ({@code GET /v1/backups/{id}/disks/{n}/image?format=raw|vmdk-stream}),
     * ready to stream, or null when {@code r} is another route. Errors (no such backup or disk, a bad
     * format) are thrown before anything is written, so they are ordinary JSON answers.
     */
    ImageStreams.Image image(Request r) {
        QueryStringDecoder q;
        try {
            q = new QueryStringDecoder(r.uri(), StandardCharsets.UTF_8, true, MAX_PARAMS);
            q.parameters();
        } catch (IllegalArgumentException e) {
            return null; // handle() answers it
        }
        var m = IMAGE.matcher(q.path());
        if (!m.matches()) {
            return null;
        }
        requireMethod(r, "GET");
        String id = m.group(1);
        String format = param(q, "format");
        if (format == null) {
            format = "raw";
        }
        if (!List.of("raw", "vmdk-stream", "vmdk-sparse").contains(format)) {
            throw new ApiException(400, "\"format\" must be raw, vmdk-stream or vmdk-sparse, found \"" + format + "\"");
        }
        try {
            Catalog c = daemon.catalog();
            BackupInfo b = BackupRef.named(c, id, param(q, "vm"));
            DiskInfo d = daemon.disk(b, m.group(2));
            DiskLayout layout = DiskLayout.of(c, b.id(), d.id(), d.capacityBytes());
            String name = "backup-" + b.id() + "-" + d.slot().replaceAll("[^A-Za-z0-9._-]", "-")
                    + (format.equals("raw") ? ".raw" : ".vmdk");
            return new ImageStreams.Image(b.id(), d.slot(), d.capacityBytes(), format, name, daemon.destination(), layout);
        } catch (CatalogException e) {
            throw new ApiException(500, "catalog: " + e.getMessage());
        } catch (IOException e) {
            throw new ApiException(notFound(e.getMessage()) ? 404 : e.getMessage() != null
                    && e.getMessage().startsWith("destination ") ? 503 : 400, e.getMessage());
        }
    }

    FullHttpResponse handle(Request r) {
        QueryStringDecoder q;
        try {
            q = new QueryStringDecoder(r.uri(), StandardCharsets.UTF_8, true, MAX_PARAMS);
            q.parameters();
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, "malformed request URI: " + e.getMessage());
        }
        String path = q.path();
        try {
            if (path.equals("/metrics")) {
                requireMethod(r, "GET");
                byte[] text = metrics.scrape().getBytes(StandardCharsets.UTF_8);
                FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.wrappedBuffer(text));
                resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                return resp;
            }
            if (!path.startsWith("/v1/")) {
                throw new ApiException(404, "no such endpoint: " + path + " (see docs/api.md)");
            }
            String rest = path.substring(4);
            Object body;
            HttpResponseStatus status = HttpResponseStatus.OK;
            switch (rest) {
                case "health" -> {
                    requireMethod(r, "GET");
                    body = health();
                }
                case "vms" -> {
                    requireMethod(r, "GET");
                    body = vms();
                }
                case "backups" -> {
                    if (r.method().equals("POST")) {
                        body = startBackup(json(r));
                        status = HttpResponseStatus.ACCEPTED;
                    } else {
                        requireMethod(r, "GET");
                        body = backups(q);
                    }
                }
                case "ls" -> {
                    requireMethod(r, "GET");
                    body = ls(q);
                }
                case "find" -> {
                    requireMethod(r, "GET");
                    body = find(q);
                }
                case "stat" -> {
                    requireMethod(r, "GET");
                    body = stat(q);
                }
                case "history" -> {
                    requireMethod(r, "GET");
                    body = history(q);
                }
                case "diff" -> {
                    requireMethod(r, "GET");
                    body = diff(q);
                }
                case "jobs" -> {
                    requireMethod(r, "GET");
                    body = Map.of("jobs", daemon.jobs().stream().map(Job::view).toList());
                }
                case "restores" -> {
                    requireMethod(r, "POST");
                    body = startRestore(json(r));
                    status = HttpResponseStatus.ACCEPTED;
                }
                case "verify" -> {
                    requireMethod(r, "POST");
                    if (r.body().length > 0) {
                        known(json(r));
                    }
                    body = daemon.requestVerify().view();
                    status = HttpResponseStatus.ACCEPTED;
                }
                case "reload" -> {
                    requireMethod(r, "POST");
                    body = reload();
                }
                default -> {
                    if (rest.startsWith("jobs/")) {
                        requireMethod(r, "GET");
                        String id = rest.substring(5);
                        Job job = daemon.job(id).orElseThrow(() -> new ApiException(404, "no job " + id));
                        awaitEnd(job, intParam(q, "wait", 0, 0, MAX_WAIT_MILLIS));
                        body = job.view();
                    } else if (rest.startsWith("backups/")) {
                        requireMethod(r, "GET");
                        body = backup(rest.substring(8));
                    } else {
                        throw new ApiException(404, "no such endpoint: " + path + " (see docs/api.md)");
                    }
                }
            }
            return ApiHandler.json(status, body);
        } catch (NoSuchPathException e) {
            throw new ApiException(404, e.getMessage());
        } catch (CatalogException e) {
            throw new ApiException(500, "catalog: " + e.getMessage());
        } catch (IOException e) {
            throw new ApiException(notFound(e.getMessage()) ? 404 : 400, e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ApiException(notFound(e.getMessage()) ? 404 : 400, e.getMessage());
        }
    }

    private static boolean notFound(String m) {
        return m != null && (m.startsWith("no ") || m.contains(" has no "));
    }

    private static void requireMethod(Request r, String m) {
        if (!r.method().equals(m)) {
            throw new ApiException(405, r.method() + " not allowed here; use " + m);
        }
    }

    private static JsonNode json(Request r) {
        if (r.body().length == 0) {
            throw new ApiException(400, "a JSON object body is required");
        }
        try {
            JsonNode n = ApiHandler.JSON.readTree(r.body());
            if (n == null || !n.isObject()) {
                throw new ApiException(400, "the body must be a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new ApiException(400, "malformed JSON body: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    private static String text(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new ApiException(400, "\"" + key + "\" must be a string");
        }
        return v.asText();
    }

    private static String param(QueryStringDecoder q, String name) {
        List<String> v = q.parameters().get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    private static String required(QueryStringDecoder q, String name) {
        String v = param(q, name);
        if (v == null || v.isEmpty()) {
            throw new ApiException(400, "missing query parameter \"" + name + "\"");
        }
        return v;
    }

    private static int intParam(QueryStringDecoder q, String name, int def, int min, int max) {
        String v = param(q, name);
        if (v == null) {
            return def;
        }
        try {
            int i = Integer.parseInt(v);
            if (i < min || i > max) {
                throw new ApiException(400, "\"" + name + "\" must be from " + min + " to " + max + ", found " + v);
            }
            return i;
        } catch (NumberFormatException e) {
            throw new ApiException(400, "\"" + name + "\" must be an integer, found \"" + v + "\"");
        }
    }

    /** Longest {@code wait} of {@code GET /v1/jobs/{id}}. */
    static final int MAX_WAIT_MILLIS = 10_000;
    /**
     * Requests waiting for a job at once: one fewer than the request workers, so a waiting follower never
     * holds up every other request. Past it, a request is answered at once, as without {@code wait}.
     */
    private final Semaphore waiters = new Semaphore(ApiServer.WORKERS - 1);

    /**
     * Holds a job request until the job is over or {@code millis} pass ({@code ?wait=MS}): a follower
     * learns of the end as it happens instead of at its next poll (a 50 MB restore lasts ~0.1 s; the
     * CLI polled every 250 ms).
     */
    private void awaitEnd(Job job, int millis) {
        if (millis <= 0 || !waiters.tryAcquire()) {
            return;
        }
        try {
            job.awaitEnd(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the server is stopping: answer with the job as it is
        } finally {
            waiters.release();
        }
    }

    // ------------------------------------------------------------------ routes

    private Map<String, Object> health() {
        Map<String, Object> m = daemon.health();
        ApiServer s = daemon.api();
        if (s != null) {
            m.put("socket", String.valueOf(s.socket()));
            m.put("tcp", s.tcpAddress() == null ? null : s.tcpAddress().getHostString() + ":" + s.tcpAddress().getPort());
        }
        return m;
    }

    private Map<String, Object> vms() throws IOException {
        Catalog c = daemon.catalog();
        AgentConfig cfg = daemon.config();
        Map<String, VmInfo> known = new LinkedHashMap<>();
        for (VmInfo v : c.vms()) {
            known.put(Path.of(v.datastorePath()).resolve(v.folder()).normalize().toString(), v);
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (AgentConfig.Datastore ds : cfg.datastores()) {
            List<VirtualMachine> vms;
            try {
                vms = Discovery.scan(ds.path(), (f, e) -> { });
            } catch (IOException e) {
                continue;
            }
            for (VirtualMachine vm : vms) {
                String key = vm.folder().toAbsolutePath().normalize().toString();
                VmInfo info = known.remove(key);
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("datastore", ds.name());
                m.put("folder", key);
                m.put("name", vm.displayName());
                m.put("uuid", vm.uuid());
                m.put("present", true);
                m.put("disks", vm.disks().stream().map(d -> Map.of("slot", d.slot(), "file", d.leaf().toString())).toList());
                m.put("tags", vm.tags());
                List<String> policies = new ArrayList<>();
                for (AgentConfig.Policy p : cfg.policies()) {
                    if (p.datastores().contains(ds.name())
                            && FileSystems.getDefault().getPathMatcher("glob:" + p.folderGlob()).matches(vm.folder().getFileName())
                            && Pattern.compile(p.nameRegex()).matcher(vm.displayName()).matches()
                            && p.tags().entrySet().stream().allMatch(t -> t.getValue().equals(vm.tags().get(t.getKey())))) {
                        policies.add(p.name());
                    }
                }
                m.put("policies", policies);
                catalogPart(c, info, m);
                out.add(m);
            }
        }
        for (Map.Entry<String, VmInfo> e : known.entrySet()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("datastore", e.getValue().datastorePath());
            m.put("folder", e.getKey());
            m.put("name", e.getValue().displayName());
            m.put("uuid", e.getValue().uuid());
            m.put("present", false);
            catalogPart(c, e.getValue(), m);
            out.add(m);
        }
        return Map.of("vms", out);
    }

    private static void catalogPart(Catalog c, VmInfo info, Map<String, Object> m) throws CatalogException {
        m.put("catalogId", info == null ? null : info.id());
        m.put("latestBackup", info == null ? null : c.latest(info.id()).map(b -> backupView(b, info.displayName()))
                .orElse(null));
    }

    /** A backup as the API shows it; {@code vmName} is the display name of its VM (null when unknown). */
    static Map<String, Object> backupView(BackupInfo b, String vmName) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", b.id());
        m.put("vmId", b.vmId());
        m.put("vm", vmName);
        m.put("state", b.state().name().toLowerCase(Locale.ROOT));
        m.put("started", str(b.started()));
        m.put("ended", str(b.ended()));
        m.put("consistency", b.consistencySource());
        m.put("policy", b.policy());
        m.put("error", b.error());
        m.put("files", b.files());
        m.put("logicalBytes", b.logicalBytes());
        m.put("newBytes", b.newBytes());
        m.put("storedBytes", b.storedBytes());
        return m;
    }

    private static String str(Instant i) {
        return i == null ? null : i.toString();
    }

    private Map<String, Object> backups(QueryStringDecoder q) throws IOException {
        Catalog c = daemon.catalog();
        String vm = param(q, "vm");
        String state = param(q, "state");
        List<BackupInfo> list;
        if (vm != null) {
            list = c.backups(BackupRef.vm(c, vm, vm).id());
        } else {
            list = c.backups();
        }
        Map<Long, String> names = vmNames(c);
        List<Map<String, Object>> out = new ArrayList<>();
        for (BackupInfo b : list) {
            if (state == null || b.state().name().equalsIgnoreCase(state)) {
                out.add(backupView(b, names.get(b.vmId())));
            }
        }
        return Map.of("backups", out);
    }

    private Map<String, Object> backup(String id) throws IOException {
        if (!id.matches("\\d{1,18}")) {
            throw new ApiException(400, "a backup id is a number, found \"" + id + "\"");
        }
        Catalog c = daemon.catalog();
        BackupInfo b = c.backup(Long.parseLong(id)).orElseThrow(() -> new ApiException(404, "no backup " + id));
        Map<String, Object> m = backupView(b, vmNames(c).get(b.vmId()));
        List<Long> ingested = c.volumesOf(b.id());
        List<Map<String, Object>> disks = new ArrayList<>();
        for (DiskInfo d : c.disks(b.vmId())) {
            Map<String, Object> dm = new LinkedHashMap<>();
            dm.put("slot", d.slot());
            dm.put("file", d.filePath());
            dm.put("chain", d.chain());
            dm.put("capacityBytes", d.capacityBytes());
            List<Map<String, Object>> vols = new ArrayList<>();
            for (VolumeInfo v : c.volumes(d.id())) {
                Map<String, Object> vm = new LinkedHashMap<>();
                vm.put("volume", d.slot() + "/" + v.partitionIndex());
                vm.put("fs", v.fsKind());
                vm.put("offsetBytes", v.offsetBytes());
                vm.put("lengthBytes", v.lengthBytes());
                vm.put("catalogued", ingested.contains(v.id()));
                vols.add(vm);
            }
            dm.put("volumes", vols);
            disks.add(dm);
        }
        m.put("disks", disks);
        return m;
    }

    private static Map<Long, String> vmNames(Catalog c) throws IOException {
        Map<Long, String> names = new java.util.HashMap<>();
        for (VmInfo v : c.vms()) {
            names.put(v.id(), v.displayName());
        }
        return names;
    }

    /** Resolves {@code backup} (+ {@code path}) with {@code vm} and {@code volume} like the CLI does. */
    private BackupRef ref(QueryStringDecoder q, boolean withPath) throws IOException {
        String spec = required(q, "backup");
        String path = param(q, "path");
        if (withPath && path != null) {
            if (spec.contains(":/")) {
                throw new ApiException(400, "give the path in \"backup\" (ID:/PATH) or in \"path\", not both");
            }
            spec = spec + ":" + path;
        }
        return BackupRef.resolve(daemon.catalog(), spec, param(q, "vm"), param(q, "volume"));
    }

    private static Map<String, Object> entry(Entry e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", e.path());
        m.put("name", e.name());
        m.put("kind", e.kind().name().toLowerCase(Locale.ROOT));
        m.put("size", e.size());
        m.put("created", nanos(e.createdNanos()));
        m.put("modified", nanos(e.modifiedNanos()));
        m.put("mftChanged", nanos(e.mftChangedNanos()));
        m.put("accessed", nanos(e.accessedNanos()));
        m.put("attributes", e.attributes());
        m.put("mftRecord", e.mftRecord());
        m.put("mftSequence", e.mftSequence());
        m.put("validFrom", e.validFrom());
        m.put("validTo", e.validTo() == 0 ? null : e.validTo());
        return m;
    }

    private static String nanos(long n) {
        return Instant.ofEpochSecond(Math.floorDiv(n, 1_000_000_000L), Math.floorMod(n, 1_000_000_000L)).toString();
    }

    private Map<String, Object> ls(QueryStringDecoder q) throws IOException {
        BackupRef ref = ref(q, true);
        int offset = intParam(q, "offset", 0, 0, Integer.MAX_VALUE);
        int limit = intParam(q, "limit", DEFAULT_LIMIT, 1, Catalog.MAX_PAGE);
        Page<Entry> page = daemon.catalog().list(ref.backup().id(), ref.volume().id(), ref.path(), offset, limit);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backup", ref.backup().id());
        m.put("path", ref.path());
        m.put("offset", page.offset());
        m.put("total", page.total());
        m.put("entries", page.items().stream().map(ApiRoutes::entry).toList());
        return m;
    }

    private Map<String, Object> find(QueryStringDecoder q) throws IOException {
        String pattern = param(q, "pattern");
        String regex = param(q, "regex");
        if ((pattern == null) == (regex == null)) {
            throw new ApiException(400, "give exactly one of \"pattern\" (a glob) or \"regex\"");
        }
        int limit = intParam(q, "limit", DEFAULT_LIMIT, 1, Catalog.MAX_PAGE);
        OptionalLong backup = OptionalLong.empty();
        if (param(q, "backup") != null) {
            String b = param(q, "backup");
            String vm = param(q, "vm");
            int at = b.indexOf('@');
            if (at > 0) {
                vm = b.substring(0, at);
                b = b.substring(at + 1);
            }
            backup = OptionalLong.of(BackupRef.backup(daemon.catalog(), b, vm, param(q, "backup")).id());
        }
        List<VersionSpan> spans;
        if (regex != null) {
            try {
                Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw new ApiException(400, "invalid regex: " + e.getDescription());
            }
            spans = daemon.catalog().findRegex(regex, backup, limit);
        } else {
            spans = daemon.catalog().findGlob(pattern, backup, limit);
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (VersionSpan s : spans) {
            Map<String, Object> m = entry(s.entry());
            m.put("backups", s.backups());
            out.add(m);
        }
        return Map.of("results", out);
    }

    private Map<String, Object> stat(QueryStringDecoder q) throws IOException {
        BackupRef ref = ref(q, true);
        Stat st = daemon.catalog().stat(ref.backup().id(), ref.volume().id(), ref.path())
                .orElseThrow(() -> new ApiException(404, "no " + ref.path() + " in backup " + ref.backup().id()));
        Map<String, Object> m = entry(st.entry());
        m.put("backup", ref.backup().id());
        List<Map<String, Object>> streams = new ArrayList<>();
        for (StreamInfo s : st.streams()) {
            Map<String, Object> sm = new LinkedHashMap<>();
            sm.put("name", s.name());
            sm.put("size", s.size());
            sm.put("blocks", s.blockCount());
            sm.put("runs", s.runs().size());
            streams.add(sm);
        }
        m.put("streams", streams);
        return m;
    }

    private Map<String, Object> history(QueryStringDecoder q) throws IOException {
        BackupRef ref = ref(q, true);
        List<Map<String, Object>> out = new ArrayList<>();
        for (VersionSpan s : daemon.catalog().history(ref.volume().id(), ref.path())) {
            Map<String, Object> m = entry(s.entry());
            m.put("backups", s.backups());
            out.add(m);
        }
        return Map.of("path", ref.path(), "versions", out);
    }

    private Map<String, Object> diff(QueryStringDecoder q) throws IOException {
        Catalog c = daemon.catalog();
        long before = backupId(c, required(q, "before"), param(q, "vm"));
        long after = backupId(c, required(q, "after"), param(q, "vm"));
        List<Map<String, Object>> out = new ArrayList<>();
        for (DiffEntry d : c.diff(before, after)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("path", d.path());
            m.put("change", d.change().name().toLowerCase(Locale.ROOT));
            m.put("sizeBefore", d.sizeBefore());
            m.put("sizeAfter", d.sizeAfter());
            out.add(m);
        }
        return Map.of("before", before, "after", after, "changes", out);
    }

    private static long backupId(Catalog c, String spec, String vm) throws IOException {
        String b = spec;
        int at = b.indexOf('@');
        if (at > 0) {
            vm = b.substring(0, at);
            b = b.substring(at + 1);
        }
        return BackupRef.backup(c, b, vm, spec).id();
    }

    private Map<String, Object> startBackup(JsonNode body) throws IOException {
        known(body, "vm", "datastore", "policy", "source", "snapshot", "full");
        List<Job> jobs = daemon.requestBackup(text(body, "datastore"), text(body, "vm"), text(body, "policy"),
                text(body, "source"), text(body, "snapshot"), bool(body, "full"));
        if (jobs.isEmpty()) {
            throw new ApiException(404, "the policy selects no VM");
        }
        return Map.of("jobs", jobs.stream().map(Job::view).toList());
    }

    private Map<String, Object> startRestore(JsonNode body) throws IOException {
        known(body, "backup", "path", "vm", "volume", "streams", "glob", "existing", "workers", "to", "targetToken",
                "disk", "format", "vmFiles", "directIo");
        String backup = text(body, "backup");
        String to = text(body, "to");
        if (backup == null || to == null) {
            throw new ApiException(400, "\"backup\" and \"to\" are required");
        }
        String path = text(body, "path");
        if (path != null && backup.contains(":/")) {
            throw new ApiException(400, "give the path in \"backup\" (ID:/PATH) or in \"path\", not both");
        }
        if (path != null && !path.startsWith("/")) {
            throw new ApiException(400, "\"path\" must start with '/'");
        }
        String spec = path == null ? backup : backup + ":" + path;
        JsonNode diskNode = body.get("disk");
        String disk = diskNode != null && diskNode.isInt() ? Integer.toString(diskNode.asInt()) : text(body, "disk");
        String format = text(body, "format");
        if (format != null && disk == null) {
            throw new ApiException(400, "\"format\" is for disk restores (with \"disk\")");
        }
        boolean vmFiles = bool(body, "vmFiles");
        if (disk != null && (vmFiles || path != null || backup.contains(":/"))) {
            throw new ApiException(400, "a disk restore takes a backup, not a path or \"vmFiles\"");
        }
        String existing = text(body, "existing");
        RestoreRequest req = new RestoreRequest(spec, text(body, "vm"), text(body, "volume"), bool(body, "streams"),
                text(body, "glob"), RestoreRequest.existing(existing == null ? "rename" : existing),
                integer(body, "workers"), to, text(body, "targetToken"), disk,
                disk == null ? null : RestoreRequest.DiskFormat.parse(format == null ? "raw" : format), vmFiles,
                bool(body, "directIo"));
        return daemon.requestRestore(req).view();
    }

    /** Refuses keys a route does not know: a typo (e.g. "stream") must not silently restore something else. */
    private static void known(JsonNode body, String... keys) {
        List<String> allowed = List.of(keys);
        for (var it = body.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!allowed.contains(k)) {
                throw new ApiException(400, "unknown key \"" + k + "\" (known: " + String.join(", ", allowed) + ")");
            }
        }
    }

    private static boolean bool(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new ApiException(400, "\"" + key + "\" must be true or false");
        }
        return v.asBoolean();
    }

    private static int integer(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return 0;
        }
        if (!v.isInt()) {
            throw new ApiException(400, "\"" + key + "\" must be an integer");
        }
        return v.asInt();
    }

    private Map<String, Object> reload() {
        try {
            AgentConfig c = daemon.reload();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("reloaded", true);
            m.put("policies", c.policies().stream().map(AgentConfig.Policy::name).toList());
            m.put("datastores", c.datastores().stream().map(AgentConfig.Datastore::name).toList());
            return m;
        } catch (ConfigException e) {
            throw new ApiException(422, e.getMessage());
        } catch (IOException e) {
            throw new ApiException(422, e.getMessage());
        }
    }
}
