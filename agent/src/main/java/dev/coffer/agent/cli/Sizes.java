package dev.coffer.agent.cli;

import java.io.IOException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses sizes such as {@code 1MiB}, {@code 64k}, {@code 4096}. */
final class Sizes {
    private static final Pattern SIZE = Pattern.compile("(?i)\\s*(\\d{1,12})\\s*([kmgt]?)(i?b)?\\s*");

    private Sizes() {}

    static long parse(String s, String option) throws IOException {
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) {
            throw new IOException(option + ": expected a size such as 1MiB or 65536, found \"" + s + "\"");
        }
        long v = Long.parseLong(m.group(1));
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        if (v > (Long.MAX_VALUE >> shift)) {
            throw new IOException(option + ": " + s + " is too large");
        }
        return v << shift;
    }
}
