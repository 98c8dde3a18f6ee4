package dev.coffer.agent.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads a YAML file into a tree and remembers the line of every key, so that validation errors can
 * say {@code FILE:LINE: key}. Jackson's tree model drops locations; this walks the token stream.
 */
final class YamlTree {
    /** Config files are a few KB; a larger one is a mistake (and must not exhaust memory). */
    static final long MAX_BYTES = 1L << 20;
    /** Deeper nesting than this is not a Coffer config (and guards the recursion). */
    private static final int MAX_DEPTH = 32;

    private YamlTree() {}

    static Node read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new ConfigException(file, 0, "", "file is " + size + " bytes, more than " + MAX_BYTES);
        }
        Map<String, Integer> lines = new HashMap<>();
        YAMLFactory factory = YAMLFactory.builder().build();
        try (JsonParser p = factory.createParser(Files.readString(file))) {
            JsonToken first = p.nextToken();
            JsonNode root = first == null ? JsonNodeFactory.instance.objectNode() : value(p, "", lines, 0, file);
            if (!root.isObject()) {
                throw new ConfigException(file, 1, "", "the file must be a mapping of keys");
            }
            return new Node(file, "", root, lines);
        } catch (JsonProcessingException e) {
            int line = e.getLocation() != null ? e.getLocation().getLineNr() : 0;
            String msg = e.getOriginalMessage().split("\n")[0];
            throw new ConfigException(file, line, "", "not valid YAML: " + msg);
        }
    }

    private static JsonNode value(JsonParser p, String key, Map<String, Integer> lines, int depth, Path file)
            throws IOException {
        if (depth > MAX_DEPTH) {
            throw new ConfigException(file, p.currentLocation().getLineNr(), key, "nested too deeply");
        }
        JsonToken t = p.currentToken();
        JsonNodeFactory f = JsonNodeFactory.instance;
        switch (t) {
            case START_OBJECT -> {
                ObjectNode o = f.objectNode();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    String child = key.isEmpty() ? name : key + "." + name;
                    lines.put(child, p.currentTokenLocation().getLineNr());
                    p.nextToken();
                    if (o.has(name)) {
                        throw new ConfigException(file, lines.get(child), child, "duplicate key");
                    }
                    o.set(name, value(p, child, lines, depth + 1, file));
                }
                return o;
            }
            case START_ARRAY -> {
                ArrayNode a = f.arrayNode();
                int i = 0;
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    String child = key + "[" + i++ + "]";
                    lines.put(child, p.currentTokenLocation().getLineNr());
                    a.add(value(p, child, lines, depth + 1, file));
                }
                return a;
            }
            case VALUE_STRING -> {
                return f.textNode(p.getText());
            }
            case VALUE_NUMBER_INT -> {
                return f.numberNode(p.getLongValue());
            }
            case VALUE_NUMBER_FLOAT -> {
                return f.numberNode(p.getDoubleValue());
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return f.booleanNode(t == JsonToken.VALUE_TRUE);
            }
            case VALUE_NULL -> {
                return f.nullNode();
            }
            default -> throw new ConfigException(file, p.currentLocation().getLineNr(), key, "unexpected " + t);
        }
    }
}
