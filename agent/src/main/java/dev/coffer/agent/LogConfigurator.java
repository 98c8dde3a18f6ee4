package dev.coffer.agent;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * Coffer's logging set-up, in code rather than {@code logback.xml}: parsing an XML configuration
 * costs ~150 ms of every start, longer than many commands run, and a {@code PatternLayout} another
 * ~40 ms (it builds its table of sixty converters), so the one line format is written out in
 * {@link Line}. Commands log to stderr only (stdout is their output) at WARN, or at the level
 * {@code COFFER_LOG_LEVEL} names (INFO, DEBUG, ...).
 * {@code -Dlogback.configurationFile=FILE} still takes an operator's own configuration instead.
 * Registered through {@code META-INF/services/ch.qos.logback.classic.spi.Configurator}.
 */
public final class LogConfigurator extends ContextAwareBase implements Configurator {
    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        Line line = new Line();
        line.setContext(context);
        line.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(context);
        encoder.setLayout(line);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(System.getenv("COFFER_LOG_LEVEL"), Level.WARN));
        root.addAppender(stderr);
        context.getLogger("io.netty").setLevel(Level.WARN);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /**
     * {@code 2026-11-22T05:55:36.149+00:00 WARN  Logger message}, then the stack trace if any: local
     * time with its offset, the level padded to five, the logger's simple name.
     */
    static final class Line extends LayoutBase<ILoggingEvent> {
        /** Built at the first line logged: the time-zone rules it loads cost ~10 ms of a start that logs nothing. */
        private static final class Time {
            static final DateTimeFormatter FORMAT =
                    DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").withZone(ZoneId.systemDefault());
        }

        @Override
        public String doLayout(ILoggingEvent e) {
            StringBuilder sb = new StringBuilder(160);
            Time.FORMAT.formatTo(Instant.ofEpochMilli(e.getTimeStamp()), sb);
            String level = e.getLevel().toString();
            sb.append(' ').append(level);
            for (int i = level.length(); i < 5; i++) {
                sb.append(' ');
            }
            String logger = e.getLoggerName();
            sb.append(' ').append(logger, logger.lastIndexOf('.') + 1, logger.length());
            sb.append(' ').append(e.getFormattedMessage()).append(CoreConstants.LINE_SEPARATOR);
            IThrowableProxy thrown = e.getThrowableProxy();
            if (thrown != null) {
                sb.append(ThrowableProxyUtil.asString(thrown)).append(CoreConstants.LINE_SEPARATOR);
            }
            return sb.toString();
        }
    }
}
