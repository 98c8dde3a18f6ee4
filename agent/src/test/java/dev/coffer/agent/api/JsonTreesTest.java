package dev.coffer.agent.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link JsonTrees} against the object mapper it stands in for: the same trees, the same plain values. */
class JsonTreesTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static void same(String json) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        JsonNode mine = JsonTrees.read(b);
        JsonNode theirs = MAPPER.readTree(b);
        assertThat(mine).as(json).isEqualTo(theirs);
        // node types too (equals compares an int node and a long node of one value as different already)
        assertThat(mine.toString()).isEqualTo(theirs.toString());
        if (theirs.isContainerNode()) {
            Object plain = JsonTrees.plain(mine);
            Object converted = MAPPER.convertValue(theirs, new TypeReference<Object>() {});
            assertThat(normalise(plain)).as(json).isEqualTo(normalise(converted));
        }
    }

    /** Integers of any width as BigInteger: convertValue picks Integer or Long by size, plain always Long. */
    private static Object normalise(Object o) {
        if (o instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(k, normalise(v)));
            return out;
        }
        if (o instanceof List<?> l) {
            List<Object> out = new ArrayList<>();
            l.forEach(v -> out.add(normalise(v)));
            return out;
        }
        if (o instanceof Integer || o instanceof Long) {
            return BigInteger.valueOf(((Number) o).longValue());
        }
        return o;
    }

    @Test
    void readsWhatTheAgentAnswers_asTheMapperDoes() throws IOException {
        same("{\"id\":\"r-7\",\"kind\":\"restore\",\"state\":\"complete\",\"progress\":{\"bytesDone\":52428800,"
                + "\"bytesTotal\":52428800},\"result\":{\"files\":1,\"failed\":0,\"seconds\":0.071,\"bytesWritten\":52428800,"
                + "\"results\":[{\"file\":\"/Users/alice/clip0.mp4\",\"ok\":true,\"outcome\":\"written\"}],\"renamed\":[]},"
                + "\"error\":null,\"nextAttemptAt\":null}");
        same("[]");
        same("{}");
        same("\"just a string \\u00e9 \\ud83d\\ude00 \\n\"");
        same("12");
        same("-9223372036854775808");
        same("9223372036854775808");
        same("123456789012345678901234567890");
        same("1.5e300");
        same("-0.0");
        same("true");
        same("null");
        same("{\"a\":1,\"a\":2}");
        same(" \n {\"nested\": [[[{\"deep\": [1, 2.5, \"x\", false, null]}]]]} \t");
    }

    @Test
    void randomTrees_areReadAsTheMapperReadsThem() throws IOException {
        Random rnd = new Random(20261207);
        for (int i = 0; i < 500; i++) {
            same(MAPPER.writeValueAsString(random(rnd, 0)));
        }
    }

    private static Object random(Random rnd, int depth) {
        int kind = rnd.nextInt(depth > 4 ? 6 : 8);
        return switch (kind) {
            case 0 -> null;
            case 1 -> rnd.nextBoolean();
            case 2 -> rnd.nextInt();
            case 3 -> rnd.nextLong();
            case 4 -> rnd.nextDouble() * Math.pow(10, rnd.nextInt(40) - 20);
            case 5 -> randomString(rnd);
            case 6 -> {
                Map<String, Object> m = new LinkedHashMap<>();
                for (int n = rnd.nextInt(5); n > 0; n--) {
                    m.put(randomString(rnd), random(rnd, depth + 1));
                }
                yield m;
            }
            default -> {
                List<Object> l = new ArrayList<>();
                for (int n = rnd.nextInt(5); n > 0; n--) {
                    l.add(random(rnd, depth + 1));
                }
                yield l;
            }
        };
    }

    private static String randomString(Random rnd) {
        StringBuilder sb = new StringBuilder();
        for (int n = rnd.nextInt(8); n > 0; n--) {
            sb.appendCodePoint(switch (rnd.nextInt(4)) {
                case 0 -> rnd.nextInt(0x20);
                case 1 -> 0x20 + rnd.nextInt(0x5f);
                case 2 -> 0xa0 + rnd.nextInt(0x700);
                default -> 0x1f600 + rnd.nextInt(0x40);
            });
        }
        return sb.toString();
    }

    @Test
    void malformedText_isAnIOException() {
        for (String bad : List.of("", "   ", "{", "{\"a\":}", "[1,]", "{\"a\":1} {}", "nul", "\"open", "{'a':1}")) {
            assertThatThrownBy(() -> JsonTrees.read(bad.getBytes(StandardCharsets.UTF_8))).as(bad)
                    .isInstanceOf(IOException.class);
        }
    }
}
