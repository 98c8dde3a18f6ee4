package dev.coffer.agent;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * Coffer's SLF4J provider, the only one registered in {@code coffer.jar}. The daemons ({@code agent},
 * {@code destination}, {@code target}) and any command started with
 * {@code -Dlogback.configurationFile} log through logback, which an operator can configure
 * ({@link LogConfigurator} is its default set-up); every other command writes the same lines straight
 * to stderr, at WARN or at {@code COFFER_LOG_LEVEL}. Starting logback (its version checks, context
 * and configurator) took ~40 ms of every start, a tenth of a one-file restore, for commands that log
 * nothing unless something goes wrong.
 *
 * <p>Registered as a service rather than named in SLF4J's {@code slf4j.provider} property: SLF4J
 * announces a provider named there with {@code String.format}, and the JDK's first format compiles
 * its pattern in the interpreter (~15 ms). The shaded jar leaves out logback's own registration so
 * that this is the one SLF4J finds; {@link Main} says which backend a command wants before anything
 * logs, in {@value #BACKEND}.
 */
public final class CofferLogging implements SLF4JServiceProvider {
    /** The system property that asks for logback ({@code logback}); anything else means stderr lines. */
    static final String BACKEND = "coffer.logging";

    private ILoggerFactory factory;
    private IMarkerFactory markers;
    private MDCAdapter mdc;

    /** Makes the commands started after this log through logback (the daemons). */
    static void useLogback() {
        System.setProperty(BACKEND, "logback");
    }

    private static boolean logback() {
        return "logback".equals(System.getProperty(BACKEND)) || System.getProperty("logback.configurationFile") != null;
    }

    /**
     * The lowest level logged, as {@link Level#toInt()}, for the level named the way logback reads
     * COFFER_LOG_LEVEL: any case; OFF logs nothing; a missing or unknown name means WARN.
     */
    static int threshold(String name) {
        String n = name == null ? "" : name.trim().toUpperCase(Locale.ROOT);
        return switch (n) {
            case "ALL", "TRACE" -> Level.TRACE.toInt();
            case "DEBUG" -> Level.DEBUG.toInt();
            case "INFO" -> Level.INFO.toInt();
            case "ERROR" -> Level.ERROR.toInt();
            case "OFF" -> Integer.MAX_VALUE;
            default -> Level.WARN.toInt();
        };
    }

    @Override
    public ILoggerFactory getLoggerFactory() {
        return factory;
    }

    @Override
    public IMarkerFactory getMarkerFactory() {
        return markers;
    }

    @Override
    public MDCAdapter getMDCAdapter() {
        return mdc;
    }

    @Override
    public String getRequestedApiVersion() {
        return "2.0.99";
    }

    @Override
    public void initialize() {
        if (logback()) {
            SLF4JServiceProvider lb = new ch.qos.logback.classic.spi.LogbackServiceProvider();
            lb.initialize();
            factory = lb.getLoggerFactory();
            markers = lb.getMarkerFactory();
            mdc = lb.getMDCAdapter();
        } else {
            factory = new Factory(threshold(System.getenv("COFFER_LOG_LEVEL")));
            markers = new BasicMarkerFactory();
            mdc = new NOPMDCAdapter();
        }
    }

    private static final class Factory implements ILoggerFactory {
        private final int threshold;
        private final Map<String, Logger> loggers = new ConcurrentHashMap<>();

        Factory(int threshold) {
            this.threshold = threshold;
        }

        @Override
        public Logger getLogger(String name) {
            // not computeIfAbsent with a lambda: this runs as SLF4J starts, before much else has linked one
            Logger l = loggers.get(name);
            if (l == null) {
                Logger made = new Line(name, threshold);
                l = loggers.putIfAbsent(name, made);
                if (l == null) {
                    l = made;
                }
            }
            return l;
        }
    }

    /**
     * {@code 2026-11-22T05:55:36.149+00:00 WARN  Logger message}, then the stack trace if any: the
     * same line as {@link LogConfigurator.Line} writes through logback.
     */
    static final class Line extends LegacyAbstractLogger {
        private static final long serialVersionUID = 1L;

        /** Built at the first line logged: the time-zone rules cost ~10 ms of a start that logs nothing. */
        private static final class Time {
            static final DateTimeFormatter FORMAT =
                    DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").withZone(ZoneId.systemDefault());
        }

        private final int threshold;
        private final String simpleName;

        Line(String name, int threshold) {
            this.name = name;
            this.threshold = threshold;
            this.simpleName = name.substring(name.lastIndexOf('.') + 1);
        }

        private boolean on(Level level) {
            return level.toInt() >= threshold;
        }

        @Override public boolean isTraceEnabled() { return on(Level.TRACE); }
        @Override public boolean isDebugEnabled() { return on(Level.DEBUG); }
        @Override public boolean isInfoEnabled() { return on(Level.INFO); }
        @Override public boolean isWarnEnabled() { return on(Level.WARN); }
        @Override public boolean isErrorEnabled() { return on(Level.ERROR); }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] args,
                Throwable thrown) {
            System.err.print(format(Instant.now(), level, simpleName,
                    MessageFormatter.basicArrayFormat(pattern, args), thrown));
        }

        static String format(Instant when, Level level, String logger, String message, Throwable thrown) {
            StringBuilder sb = new StringBuilder(160);
            Time.FORMAT.formatTo(when, sb);
            String name = level.toString();
            sb.append(' ').append(name);
            for (int i = name.length(); i < 5; i++) {
                sb.append(' ');
            }
            sb.append(' ').append(logger).append(' ').append(message).append(System.lineSeparator());
            if (thrown != null) {
                StringWriter trace = new StringWriter();
                thrown.printStackTrace(new PrintWriter(trace));
                sb.append(trace);
            }
            return sb.toString();
        }
    }
}
