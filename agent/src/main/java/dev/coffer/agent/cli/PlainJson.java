package dev.coffer.agent.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;

/**
 * Prints a tree of plain values (maps with string keys, collections, strings, numbers, booleans, null) as
 * {@link Json#print} would print it, through Jackson's streaming generator alone. A command whose output
 * is such a tree, a backup's summary, then never starts Jackson's object mapper: building it costs ~40 ms
 * of CPU (serializer factories, type resolution, reflection over the JDK's collection classes), a
 * twentieth of an incremental backup, on a core the backup itself wants.
 */
public final class PlainJson {
    private static final JsonFactory FACTORY = new JsonFactory();

    private PlainJson() {}

    /** Writes {@code value} as indented JSON followed by a newline; anything but a plain value is refused. */
    public static void print(PrintWriter out, Object value) throws IOException {
        StringWriter text = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(text)) {
            g.useDefaultPrettyPrinter();
            write(g, value);
        }
        out.println(text);
        out.flush();
    }

    /** {@code value} as compact JSON text; anything but a plain value is refused. */
    public static String text(Object value) throws IOException {
        StringWriter text = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(text)) {
            write(g, value);
        }
        return text.toString();
    }

    private static void write(JsonGenerator g, Object v) throws IOException {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof String s) {
            g.writeString(s);
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            g.writeNumber(((Number) v).longValue());
        } else if (v instanceof Double d) {
            g.writeNumber(d);
        } else if (v instanceof Float f) {
            g.writeNumber(f);
        } else if (v instanceof Map<?, ?> m) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                g.writeFieldName((String) e.getKey());
                write(g, e.getValue());
            }
            g.writeEndObject();
        } else if (v instanceof java.util.Collection<?> list) { // not Iterable: a Path is one, of Paths
            g.writeStartArray();
            for (Object x : list) {
                write(g, x);
            }
            g.writeEndArray();
        } else {
            throw new IllegalArgumentException("not a plain JSON value: " + v.getClass().getName());
        }
    }
}
