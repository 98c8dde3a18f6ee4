package dev.coffer.agent.restore;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.agent.restore.RestoreException.Code;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;

/**
 * The JSON bodies of the restore-target HTTP protocol, shared by server and client
 * ({@code docs/restore-target.md}). Output escapes every non-ASCII character ({@code \}{@code uXXXX})
 * so that NTFS names with unpaired surrogates survive the trip.
 */
final class WireFormat {
    /** Protocol version, reported by {@code /v1/health}; bump with docs/restore-target.md. */
    static final int VERSION = 1;
    /** Largest JSON body accepted: metadata with a 64 KiB security descriptor in base64 fits with room. */
    static final int MAX_JSON_BYTES = 256 << 10;
    /** Most ranges a status/begin reply may list before the client refuses it. */
    static final int MAX_RANGES = 1 << 22;

    static final ObjectMapper JSON = JsonMapper.builder().enable(JsonWriteFeature.ESCAPE_NON_ASCII).build();

    private WireFormat() {}

    /** The metadata body of begin and commit. */
    static ObjectNode fileJson(RestoreFile f) {
        ObjectNode n = JSON.createObjectNode();
        n.put("size", f.size());
        n.put("sha256", HexFormat.of().formatHex(f.sha256()));
        n.put("blockBytes", f.blockBytes());
        putTime(n, "created", f.times().created());
        putTime(n, "modified", f.times().modified());
        putTime(n, "accessed", f.times().accessed());
        n.put("attributes", f.attributes());
        if (f.securityDescriptor() != null) {
            n.put("securityDescriptor", Base64.getEncoder().encodeToString(f.securityDescriptor()));
        }
        n.put("policy", f.policy().name());
        return n;
    }

    private static void putTime(ObjectNode n, String name, Instant t) {
        if (t != null) {
            n.put(name, t.toString());
        }
    }

    /** Decodes a metadata body for the file at {@code path} (and {@code stream}); every field is validated. */
    static RestoreFile parseFile(List<String> path, String stream, byte[] body) throws RestoreException {
        JsonNode n = parse(body);
        try {
            long size = requiredLong(n, "size");
            byte[] sha = HexFormat.of().parseHex(requiredText(n, "sha256"));
            JsonNode bb = n.get("blockBytes");
            int blockBytes = bb == null || bb.isNull() ? 0 : (int) checkedLong(bb, "blockBytes", 0, Integer.MAX_VALUE);
            FileTimes times = new FileTimes(time(n, "created"), time(n, "modified"), time(n, "accessed"));
            JsonNode attr = n.get("attributes");
            int attributes = attr == null || attr.isNull() ? 0 : (int) checkedLong(attr, "attributes", 0, 0xffffffffL);
            JsonNode sd = n.get("securityDescriptor");
            byte[] sdBytes = null;
            if (sd != null && !sd.isNull()) {
                if (!sd.isTextual() || sd.asText().length() > (RestoreFile.MAX_SECURITY_DESCRIPTOR_BYTES / 3 + 1) * 4) {
                    throw new RestoreException(Code.BAD_REQUEST, "securityDescriptor must be base64 of at most "
                            + RestoreFile.MAX_SECURITY_DESCRIPTOR_BYTES + " bytes");
                }
                sdBytes = Base64.getDecoder().decode(sd.asText());
            }
            ExistingPolicy policy = ExistingPolicy.valueOf(requiredText(n, "policy"));
            return new RestoreFile(path, stream, size, sha, blockBytes, times, attributes, sdBytes, policy);
        } catch (IllegalArgumentException e) {
            throw new RestoreException(Code.BAD_REQUEST, "bad file metadata for " + String.join("/", path) + ": "
                    + e.getMessage(), e);
        }
    }

    private static Instant time(JsonNode n, String name) throws RestoreException {
        JsonNode t = n.get(name);
        if (t == null || t.isNull()) {
            return null;
        }
        try {
            return Instant.parse(t.asText());
        } catch (DateTimeParseException e) {
            throw new RestoreException(Code.BAD_REQUEST, "field " + name + ": not an ISO-8601 instant: " + t.asText());
        }
    }

    static JsonNode parse(byte[] body) throws RestoreException {
        if (body.length > MAX_JSON_BYTES) {
            throw new RestoreException(Code.LIMIT_EXCEEDED, "JSON body of " + body.length + " bytes exceeds " + MAX_JSON_BYTES);
        }
        try {
            JsonNode n = JSON.readTree(body);
            if (n == null || !n.isObject()) {
                throw new RestoreException(Code.BAD_REQUEST, "expected a JSON object");
            }
            return n;
        } catch (RestoreException e) {
            throw e;
        } catch (IOException e) {
            throw new RestoreException(Code.BAD_REQUEST, "malformed JSON: " + e.getMessage(), e);
        }
    }

    private static String requiredText(JsonNode n, String name) throws RestoreException {
        JsonNode v = n.get(name);
        if (v == null || !v.isTextual()) {
            throw new RestoreException(Code.BAD_REQUEST, "missing or non-string field " + name);
        }
        return v.asText();
    }

    private static long requiredLong(JsonNode n, String name) throws RestoreException {
        JsonNode v = n.get(name);
        if (v == null) {
            throw new RestoreException(Code.BAD_REQUEST, "missing field " + name);
        }
        return checkedLong(v, name, 0, Long.MAX_VALUE);
    }

    private static long checkedLong(JsonNode v, String name, long min, long max) throws RestoreException {
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw new RestoreException(Code.BAD_REQUEST, "field " + name + " must be an integer in " + min + ".." + max
                    + ", found " + v);
        }
        return v.asLong();
    }

    static ArrayNode rangesJson(List<ByteRange> ranges) {
        ArrayNode a = JSON.createArrayNode();
        for (ByteRange r : ranges) {
            a.addObject().put("offset", r.offset()).put("length", r.length());
        }
        return a;
    }

    static List<ByteRange> parseRanges(JsonNode a, long size) throws RestoreException {
        if (a == null || !a.isArray() || a.size() > MAX_RANGES) {
            throw new RestoreException(Code.BAD_REQUEST, "expected an array of at most " + MAX_RANGES + " ranges");
        }
        List<ByteRange> out = new ArrayList<>(a.size());
        for (JsonNode r : a) {
            long off = checkedLong(r.path("offset"), "offset", 0, size);
            long len = checkedLong(r.path("length"), "length", 0, size - off);
            out.add(new ByteRange(off, len));
        }
        return out;
    }

    static ArrayNode mappingsJson(List<NameMapping> mappings) {
        ArrayNode a = JSON.createArrayNode();
        for (NameMapping m : mappings) {
            ObjectNode o = a.addObject();
            o.put("original", m.original());
            o.put("mapped", m.mapped());
            ArrayNode rs = o.putArray("reasons");
            m.reasons().stream().sorted().forEach(r -> rs.add(r.name()));
        }
        return a;
    }

    static List<NameMapping> parseMappings(JsonNode a) throws RestoreException {
        if (a == null || !a.isArray() || a.size() > RestoreFile.MAX_DEPTH) {
            throw new RestoreException(Code.BAD_REQUEST, "expected an array of at most " + RestoreFile.MAX_DEPTH + " mappings");
        }
        List<NameMapping> out = new ArrayList<>();
        for (JsonNode m : a) {
            EnumSet<NameMapping.Reason> reasons = EnumSet.noneOf(NameMapping.Reason.class);
            for (JsonNode r : m.path("reasons")) {
                try {
                    reasons.add(NameMapping.Reason.valueOf(r.asText()));
                } catch (IllegalArgumentException e) {
                    throw new RestoreException(Code.BAD_REQUEST, "unknown mapping reason " + r.asText());
                }
            }
            out.add(new NameMapping(m.path("original").asText(), m.path("mapped").asText(), reasons));
        }
        return out;
    }

    static ObjectNode uploadJson(Upload u) {
        ObjectNode n = JSON.createObjectNode();
        n.put("id", u.id());
        n.put("path", u.targetPath());
        n.put("skip", u.skip());
        n.set("verified", rangesJson(u.verified()));
        n.set("mappings", mappingsJson(u.mappings()));
        return n;
    }

    static Upload parseUpload(RestoreFile f, byte[] body) throws RestoreException {
        JsonNode n = parse(body);
        return new Upload(f, requiredText(n, "id"), requiredText(n, "path"), n.path("skip").asBoolean(false),
                parseRanges(n.get("verified"), f.size()), parseMappings(n.get("mappings")));
    }

    static ObjectNode commitJson(CommitResult r) {
        ObjectNode n = JSON.createObjectNode();
        n.put("outcome", r.outcome().name());
        n.put("path", r.path());
        n.set("mappings", mappingsJson(r.mappings()));
        n.put("metadata", r.metadata().name());
        return n;
    }

    static CommitResult parseCommit(byte[] body) throws RestoreException {
        JsonNode n = parse(body);
        try {
            return new CommitResult(CommitResult.Outcome.valueOf(requiredText(n, "outcome")), requiredText(n, "path"),
                    parseMappings(n.get("mappings")), CommitResult.Metadata.valueOf(requiredText(n, "metadata")));
        } catch (IllegalArgumentException e) {
            throw new RestoreException(Code.BAD_REQUEST, "bad commit reply: " + e.getMessage(), e);
        }
    }

    static byte[] errorJson(RestoreException e) {
        ObjectNode n = JSON.createObjectNode();
        n.put("error", e.getMessage());
        n.put("code", e.code().wireName());
        return bytes(n);
    }

    static byte[] bytes(JsonNode n) {
        try {
            return JSON.writeValueAsBytes(n);
        } catch (IOException e) {
            throw new IllegalStateException("JSON tree serialisation cannot fail", e);
        }
    }
}
