package dev.coffer.agent.cli;

import java.io.PrintWriter;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * A plain-text table for terminal listings: columns padded to their widest cell, numbers
 * right-aligned. Every listing that prints a table also has a {@code --json} form.
 */
public final class Table {
    private final String[] headers;
    private final boolean[] rightAligned;
    private final List<String[]> rows = new ArrayList<>();

    /** Headers; a header starting with '>' marks a right-aligned (numeric) column, the '>' is not printed. */
    public Table(String... headers) {
        this.headers = new String[headers.length];
        this.rightAligned = new boolean[headers.length];
        for (int i = 0; i < headers.length; i++) {
            rightAligned[i] = headers[i].startsWith(">");
            this.headers[i] = rightAligned[i] ? headers[i].substring(1) : headers[i];
        }
    }

    /** Adds a row; missing cells print empty, {@code null} prints as "-". */
    public Table row(Object... cells) {
        String[] r = new String[headers.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = i < cells.length ? (cells[i] == null ? "-" : cells[i].toString()) : "";
        }
        rows.add(r);
        return this;
    }

    /** Prints the header line and every row. */
    public void print(PrintWriter out) {
        int[] w = new int[headers.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = headers[i].length();
            for (String[] r : rows) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        line(out, headers, w);
        for (String[] r : rows) {
            line(out, r, w);
        }
        out.flush();
    }

    private void line(PrintWriter out, String[] cells, int[] w) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            boolean last = i == cells.length - 1;
            String c = cells[i];
            String pad = " ".repeat(Math.max(0, w[i] - c.length()));
            if (rightAligned[i]) {
                sb.append(pad).append(c);
            } else {
                sb.append(c).append(last ? "" : pad);
            }
            if (!last) {
                sb.append("  ");
            }
        }
        out.println(sb.toString().stripTrailing());
    }

    /** Human-readable byte count: 1536 -> "1.5 KiB". */
    public static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return fixed(v, v >= 100 ? 0 : 1) + " " + units[u];
    }

    /**
     * {@code v} with {@code places} decimals, as {@code String.format(Locale.ROOT, "%.Nf", v)} prints it
     * (the shortest decimal form of the double, rounded half up), without {@link java.util.Formatter}:
     * its first use compiles its pattern in the interpreter, ~15 ms of a one-file restore's start.
     */
    public static String fixed(double v, int places) {
        return new BigDecimal(Double.toString(v)).setScale(places, RoundingMode.HALF_UP).toPlainString();
    }
}
