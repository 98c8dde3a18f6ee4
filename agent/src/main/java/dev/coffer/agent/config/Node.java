package dev.coffer.agent.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A YAML node with its file, key path and line, so every validation error can name all three.
 * Unknown keys are errors (a typo must not silently disable a setting).
 */
final class Node {
    private final Path file;
    private final String key;
    private final JsonNode node;
    private final Map<String, Integer> lines;
    private final Set<String> read = new HashSet<>();

    Node(Path file, String key, JsonNode node, Map<String, Integer> lines) {
        this.file = file;
        this.key = key;
        this.node = node;
        this.lines = lines;
    }

    String key() {
        return key;
    }

    Path file() {
        return file;
    }

    /** The keys of this mapping, in file order; marks them all as read. */
    List<String> fieldNames() throws ConfigException {
        if (!(node instanceof ObjectNode o)) {
            throw error("expected a mapping");
        }
        List<String> names = new ArrayList<>();
        o.fieldNames().forEachRemaining(names::add);
        read.addAll(names);
        return names;
    }

    int line() {
        return lines.getOrDefault(key, 0);
    }

    ConfigException error(String problem) {
        return new ConfigException(file, line(), key, problem);
    }

    private String child(String name) {
        return key.isEmpty() ? name : key + "." + name;
    }

    boolean has(String name) {
        return node instanceof ObjectNode o && o.has(name) && !o.get(name).isNull();
    }

    Node get(String name) throws ConfigException {
        read.add(name);
        if (!(node instanceof ObjectNode o)) {
            throw error("expected a mapping");
        }
        JsonNode c = o.get(name);
        if (c == null || c.isNull()) {
            throw new ConfigException(file, line(), child(name), "required");
        }
        return new Node(file, child(name), c, lines);
    }

    Optional<Node> opt(String name) throws ConfigException {
        read.add(name);
        return has(name) ? Optional.of(get(name)) : Optional.empty();
    }

    String text() throws ConfigException {
        if (!node.isValueNode() || node.isNull()) {
            throw error("expected a string");
        }
        String s = node.asText();
        if (s.isBlank()) {
            throw error("must not be empty");
        }
        return s;
    }

    long integer(long min, long max) throws ConfigException {
        if (!node.canConvertToLong() || !node.isIntegralNumber()) {
            throw error("expected a whole number, found \"" + node.asText() + "\"");
        }
        long v = node.asLong();
        if (v < min || v > max) {
            throw error(v + " is out of range [" + min + ", " + max + "]");
        }
        return v;
    }

    boolean bool() throws ConfigException {
        if (!node.isBoolean()) {
            throw error("expected true or false, found \"" + node.asText() + "\"");
        }
        return node.asBoolean();
    }

    List<Node> list() throws ConfigException {
        if (!node.isArray()) {
            throw error("expected a list");
        }
        List<Node> out = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            out.add(new Node(file, key + "[" + i + "]", node.get(i), lines));
        }
        return out;
    }

    <T> List<T> list(ThrowingFunction<Node, T> f) throws ConfigException {
        List<T> out = new ArrayList<>();
        for (Node n : list()) {
            out.add(f.apply(n));
        }
        return out;
    }

    List<String> strings() throws ConfigException {
        if (node.isValueNode()) {
            return List.of(text());
        }
        return list(Node::text);
    }

    /** Fails on the first key of this mapping that no accessor asked for. */
    void rejectUnknown() throws ConfigException {
        if (!(node instanceof ObjectNode o)) {
            return;
        }
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!read.contains(name)) {
                throw new ConfigException(file, lines.getOrDefault(child(name), line()), child(name),
                        "unknown key (a typo?)");
            }
        }
    }

    /** A function that may fail with a configuration error. */
    interface ThrowingFunction<A, B> {
        B apply(A a) throws ConfigException;
    }
}
