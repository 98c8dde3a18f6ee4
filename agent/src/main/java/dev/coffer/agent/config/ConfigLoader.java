package dev.coffer.agent.config;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.parser.CronParser;
import dev.coffer.agent.config.AgentConfig.Datastore;
import dev.coffer.agent.config.AgentConfig.Destination;
import dev.coffer.agent.config.AgentConfig.Limits;
import dev.coffer.agent.config.AgentConfig.Policy;
import dev.coffer.agent.config.AgentConfig.Query;
import dev.coffer.agent.config.AgentConfig.Retention;
import dev.coffer.agent.config.AgentConfig.Source;
import dev.coffer.agent.config.AgentConfig.Window;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Loads and validates {@link AgentConfig}. Every error names the file, the line and the key; unknown
 * keys are errors. Relative paths are resolved against the config file's directory.
 */
public final class ConfigLoader {
    private static final Pattern RATE = Pattern.compile("(?i)\\s*(\\d+(?:\\.\\d+)?)\\s*([kmgt]i?b|b)?\\s*/\\s*s\\s*");
    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9a-fA-F:]+]|[^:\\s]+):(\\d{1,5})");
    private static final Pattern WINDOW = Pattern.compile("\\s*(\\d{1,2}:\\d{2})\\s*-\\s*(\\d{1,2}:\\d{2})\\s*");
    private static final Pattern POLICY_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    /** Retention counts beyond this are surely a typo (a restore point a day for 27 years). */
    private static final int MAX_KEEP = 10_000;

    private static final CronParser CRON =
            new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private ConfigLoader() {}

    /** Loads {@code file} and the policy directory it names. */
    public static AgentConfig load(Path file) throws IOException {
        Path abs = file.toAbsolutePath().normalize();
        Path base = abs.getParent();
        Node root = YamlTree.read(abs);

        Path catalog = path(base, root.get("catalog"));
        Destination dest = destination(base, root.get("destination"));
        List<Datastore> datastores = root.opt("datastores").isPresent()
                ? root.get("datastores").list(n -> datastore(base, n)) : List.of();
        Map<String, Datastore> byName = new HashMap<>();
        for (int i = 0; i < datastores.size(); i++) {
            if (byName.put(datastores.get(i).name(), datastores.get(i)) != null) {
                throw root.get("datastores").list().get(i).get("name").error("duplicate datastore name");
            }
        }
        Query query = query(base, root.get("query"));
        Limits limits = root.opt("limits").isPresent() ? limits(root.get("limits")) : new Limits(0, 1);
        ZoneId zone = ZoneId.systemDefault();
        if (root.opt("timezone").isPresent()) {
            Node z = root.get("timezone");
            try {
                zone = ZoneId.of(z.text());
            } catch (DateTimeException e) {
                throw z.error("unknown time zone \"" + z.text() + "\"");
            }
        }
        List<Policy> policies = new ArrayList<>();
        if (root.opt("policies").isPresent()) {
            policies.addAll(root.get("policies").list(n -> policy(n, byName)));
        }
        if (root.opt("policy_dir").isPresent()) {
            Node d = root.get("policy_dir");
            Path dir = base.resolve(d.text());
            if (!Files.isDirectory(dir)) {
                throw d.error("not a directory: " + dir);
            }
            List<Path> files = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.{yaml,yml}")) {
                ds.forEach(files::add);
            }
            files.sort(null);
            for (Path pf : files) {
                Node pn = YamlTree.read(pf);
                policies.add(policy(pn, byName));
            }
        }
        Map<String, Policy> seen = new LinkedHashMap<>();
        for (Policy p : policies) {
            Policy prev = seen.put(p.name(), p);
            if (prev != null) {
                throw new ConfigException(p.definedIn(), p.line(), "name",
                        "policy \"" + p.name() + "\" is also defined at " + prev.definedIn() + ":" + prev.line());
            }
        }
        root.rejectUnknown();
        return new AgentConfig(abs, catalog, dest, List.copyOf(datastores), query, limits, zone, List.copyOf(policies));
    }

    private static Path path(Path base, Node n) throws ConfigException {
        String s = n.text();
        if (s.indexOf('\0') >= 0) {
            throw n.error("contains a NUL byte");
        }
        return base.resolve(s).normalize();
    }

    private static Destination destination(Path base, Node n) throws ConfigException {
        Optional<Path> store = n.opt("store").isPresent() ? Optional.of(path(base, n.get("store"))) : Optional.empty();
        Optional<String> address = Optional.empty();
        if (n.opt("address").isPresent()) {
            address = Optional.of(hostPort(n.get("address")));
        }
        if (store.isPresent() == address.isPresent()) {
            throw n.error("set exactly one of store (an embedded store directory) or address (host:port)");
        }
        Optional<Path> token = optPath(base, n, "token_file");
        Optional<Path> ca = optPath(base, n, "tls_ca");
        Optional<Path> cert = optPath(base, n, "tls_cert");
        Optional<Path> key = optPath(base, n, "tls_key");
        boolean plaintext = n.opt("plaintext").isPresent() && n.get("plaintext").bool();
        if (cert.isPresent() != key.isPresent()) {
            throw n.error("tls_cert and tls_key go together");
        }
        if (address.isPresent() && token.isEmpty() && cert.isEmpty()) {
            throw n.error("a remote destination needs token_file or tls_cert/tls_key (the destination authenticates)");
        }
        n.rejectUnknown();
        return new Destination(store, address, token, ca, cert, key, plaintext);
    }

    private static Optional<Path> optPath(Path base, Node n, String key) throws ConfigException {
        return n.opt(key).isPresent() ? Optional.of(path(base, n.get(key))) : Optional.empty();
    }

    private static String hostPort(Node n) throws ConfigException {
        String s = n.text();
        Matcher m = HOST_PORT.matcher(s);
        if (!m.matches() || Integer.parseInt(m.group(2)) > 65535) {
            throw n.error("expected host:port, found \"" + s + "\"");
        }
        return s;
    }

    private static Datastore datastore(Path base, Node n) throws ConfigException {
        String name = n.get("name").text();
        if (!POLICY_NAME.matcher(name).matches()) {
            throw n.get("name").error("use letters, digits, '.', '_' or '-' (max 64)");
        }
        Path path = path(base, n.get("path"));
        Optional<String> template = Optional.empty();
        if (n.opt("snapshots").isPresent()) {
            Node t = n.get("snapshots");
            if (!t.text().contains("{snapshot}")) {
                throw t.error("the snapshot template must contain {snapshot}");
            }
            template = Optional.of(t.text());
        }
        n.rejectUnknown();
        return new Datastore(name, path, template);
    }

    private static Query query(Path base, Node n) throws ConfigException {
        Path socket = path(base, n.get("socket"));
        Optional<String> listen = n.opt("listen").isPresent() ? Optional.of(hostPort(n.get("listen"))) : Optional.empty();
        Optional<Path> token = optPath(base, n, "token_file");
        if (listen.isPresent() && token.isEmpty()) {
            throw n.error("listen (TCP) requires token_file: the query socket authenticates");
        }
        n.rejectUnknown();
        return new Query(socket, listen, token);
    }

    private static Limits limits(Node n) throws ConfigException {
        long rate = n.opt("max_read_rate").isPresent() ? rate(n.get("max_read_rate")) : 0;
        int jobs = n.opt("concurrent_jobs").isPresent() ? (int) n.get("concurrent_jobs").integer(1, 64) : 1;
        n.rejectUnknown();
        return new Limits(rate, jobs);
    }

    /** "100MiB/s", "1.5 GB/s", "500KiB/s", "0/s" (none) to bytes per second. */
    static long rate(Node n) throws ConfigException {
        Matcher m = RATE.matcher(n.text());
        if (!m.matches()) {
            throw n.error("expected a rate such as 100MiB/s, found \"" + n.text() + "\"");
        }
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        double mult = switch (unit) {
            case "b" -> 1;
            case "kb" -> 1e3;
            case "mb" -> 1e6;
            case "gb" -> 1e9;
            case "tb" -> 1e12;
            case "kib" -> 1024.0;
            case "mib" -> 1024.0 * 1024;
            case "gib" -> 1024.0 * 1024 * 1024;
            default -> 1024.0 * 1024 * 1024 * 1024;
        };
        double bytes = v * mult;
        if (bytes > Long.MAX_VALUE / 2) {
            throw n.error("rate too large");
        }
        return (long) bytes;
    }

    private static Policy policy(Node n, Map<String, Datastore> datastores) throws ConfigException {
        Node nameNode = n.get("name");
        String name = nameNode.text();
        if (!POLICY_NAME.matcher(name).matches()) {
            throw nameNode.error("use letters, digits, '.', '_' or '-' (max 64)");
        }
        List<String> ds = n.opt("datastores").isPresent() ? n.get("datastores").strings() : List.copyOf(datastores.keySet());
        for (String d : ds) {
            if (!datastores.containsKey(d)) {
                throw n.get("datastores").error("no datastore named \"" + d + "\"");
            }
        }
        String glob = n.opt("folders").isPresent() ? n.get("folders").text() : "*";
        String regex = ".*";
        if (n.opt("name_regex").isPresent()) {
            Node r = n.get("name_regex");
            try {
                Pattern.compile(r.text());
            } catch (PatternSyntaxException e) {
                throw r.error("invalid regular expression: " + e.getDescription());
            }
            regex = r.text();
        }
        Map<String, String> tags = new LinkedHashMap<>();
        if (n.opt("tags").isPresent()) {
            Node t = n.get("tags");
            for (String k : t.fieldNames()) {
                tags.put(k, t.get(k).text());
            }
        }
        List<String> schedules = n.opt("schedule").isPresent() ? n.get("schedule").strings() : List.of();
        for (int i = 0; i < schedules.size(); i++) {
            try {
                CRON.parse(schedules.get(i)).validate();
            } catch (IllegalArgumentException e) {
                Node s = n.get("schedule");
                throw new ConfigException(s.file(), s.line(), s.key(),
                        "invalid cron expression \"" + schedules.get(i) + "\": " + e.getMessage());
            }
        }
        boolean onSnapshot = n.opt("on_new_snapshot").isPresent() && n.get("on_new_snapshot").bool();
        Source source = Source.STORAGE_SNAPSHOT;
        if (n.opt("source").isPresent()) {
            Node s = n.get("source");
            source = null;
            for (Source candidate : Source.values()) {
                if (candidate.yaml().equals(s.text())) {
                    source = candidate;
                }
            }
            if (source == null) {
                throw s.error("expected storage-snapshot, reflink, vm-snapshot or live, found \"" + s.text() + "\"");
            }
        }
        if (source == Source.STORAGE_SNAPSHOT || onSnapshot) {
            for (String d : ds) {
                if (datastores.get(d).snapshotTemplate().isEmpty()) {
                    throw n.error("uses storage snapshots but datastore \"" + d + "\" has no snapshots template");
                }
            }
        }
        if (schedules.isEmpty() && !onSnapshot) {
            throw n.error("a policy needs a schedule or on_new_snapshot: true");
        }
        Retention retention = new Retention(1, 0, 0, 0, 0);
        if (n.opt("retention").isPresent()) {
            Node r = n.get("retention");
            retention = new Retention(keep(r, "last"), keep(r, "daily"), keep(r, "weekly"), keep(r, "monthly"),
                    keep(r, "yearly"));
            r.rejectUnknown();
            if (retention.last() + retention.daily() + retention.weekly() + retention.monthly() + retention.yearly() == 0) {
                throw r.error("keeps nothing: set at least one of last, daily, weekly, monthly, yearly");
            }
        }
        int priority = n.opt("priority").isPresent() ? (int) n.get("priority").integer(0, 100) : 50;
        Optional<Window> window = Optional.empty();
        if (n.opt("window").isPresent()) {
            Node w = n.get("window");
            Matcher m = WINDOW.matcher(w.text());
            if (!m.matches()) {
                throw w.error("expected HH:MM-HH:MM, found \"" + w.text() + "\"");
            }
            try {
                window = Optional.of(new Window(LocalTime.parse(pad(m.group(1))), LocalTime.parse(pad(m.group(2)))));
            } catch (DateTimeParseException e) {
                throw w.error("invalid time in \"" + w.text() + "\"");
            }
        }
        long bandwidth = n.opt("bandwidth").isPresent() ? rate(n.get("bandwidth")) : 0;
        n.rejectUnknown();
        return new Policy(name, n.file(), nameNode.line(), List.copyOf(ds), glob, regex, Map.copyOf(tags),
                List.copyOf(schedules), onSnapshot, source, retention, priority, window, bandwidth);
    }

    private static int keep(Node r, String key) throws ConfigException {
        return r.opt(key).isPresent() ? (int) r.get(key).integer(0, MAX_KEEP) : 0;
    }

    private static String pad(String hhmm) {
        return hhmm.length() == 4 ? "0" + hhmm : hhmm;
    }

}
