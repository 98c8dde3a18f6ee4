package dev.coffer.agent;

import java.time.Instant;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The java.util.logging set-up of the short commands, named in {@code java.util.logging.config.class}
 * by {@link Main}: records at the level {@code COFFER_LOG_LEVEL} names (WARN when unset) are written to
 * stderr as the same lines as SLF4J's ({@link CofferLogging}); everything below is dropped.
 *
 * <p>JNA logs through java.util.logging, and loading it starts the JDK's log manager on every
 * command that hashes. Left to its default, the manager reads the JRE's {@code logging.properties}
 * and resets and re-levels every logger it knows: ~8 ms of CPU of a one-file restore, on the
 * thread that loads the digests the pipeline waits for. Named as the configuration class, this is
 * instantiated instead, and only sets the root logger's level and one handler. An operator's own
 * {@code -Djava.util.logging.config.file} or {@code .class} still wins, as do the daemons, which keep
 * the JDK's default.
 */
public final class JulLines {
    /** Called by the JDK's log manager as it starts (the root logger exists by then). */
    public JulLines() {
        Logger root = Logger.getLogger("");
        Level level = level(CofferLogging.threshold(System.getenv("COFFER_LOG_LEVEL")));
        root.setLevel(level);
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ToStderr h = new ToStderr();
        h.setLevel(level);
        root.addHandler(h);
    }

    /** The JUL level that lets through what SLF4J's {@code threshold} (as {@code Level.toInt()}) does. */
    static Level level(int threshold) {
        if (threshold == Integer.MAX_VALUE) {
            return Level.OFF;
        }
        if (threshold >= org.slf4j.event.Level.ERROR.toInt()) {
            return Level.SEVERE;
        }
        if (threshold >= org.slf4j.event.Level.WARN.toInt()) {
            return Level.WARNING;
        }
        if (threshold >= org.slf4j.event.Level.INFO.toInt()) {
            return Level.INFO;
        }
        if (threshold >= org.slf4j.event.Level.DEBUG.toInt()) {
            return Level.FINE;
        }
        return Level.ALL;
    }

    /** The SLF4J level a JUL record is written as. */
    static org.slf4j.event.Level slf4j(Level l) {
        int v = l.intValue();
        if (v >= Level.SEVERE.intValue()) {
            return org.slf4j.event.Level.ERROR;
        }
        if (v >= Level.WARNING.intValue()) {
            return org.slf4j.event.Level.WARN;
        }
        if (v >= Level.INFO.intValue()) {
            return org.slf4j.event.Level.INFO;
        }
        if (v >= Level.FINE.intValue()) {
            return org.slf4j.event.Level.DEBUG;
        }
        return org.slf4j.event.Level.TRACE;
    }

    /** One record, one line (and its stack trace): {@link CofferLogging.Line#format}. */
    static final class ToStderr extends Handler {
        @Override
        public void publish(LogRecord r) {
            if (r == null || !isLoggable(r)) {
                return;
            }
            String name = r.getLoggerName() == null ? "" : r.getLoggerName();
            System.err.print(CofferLogging.Line.format(r.getInstant() != null ? r.getInstant() : Instant.now(),
                    slf4j(r.getLevel()), name.substring(name.lastIndexOf('.') + 1), Message.FORMAT.formatMessage(r),
                    r.getThrown()));
        }

        @Override
        public void flush() {
            System.err.flush();
        }

        @Override
        public void close() {
            flush();
        }
    }

    /** JUL's own message formatting ({0}-style parameters, resource bundles), built at the first record. */
    private static final class Message extends java.util.logging.Formatter {
        static final Message FORMAT = new Message();

        @Override
        public String format(LogRecord r) {
            return formatMessage(r);
        }
    }
}
