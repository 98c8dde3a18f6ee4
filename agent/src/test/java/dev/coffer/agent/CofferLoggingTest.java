package dev.coffer.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.event.Level;

/**
 * Coffer's SLF4J provider: stderr lines at the level COFFER_LOG_LEVEL names for the commands, logback
 * for the daemons (the shaded jar's registration is checked by {@code CofferJarIT}).
 */
class CofferLoggingTest {
    @AfterEach
    void clearBackend() {
        System.clearProperty(CofferLogging.BACKEND);
    }

    @Test
    void threshold_readsLevelNamesAsLogbackDoes() {
        assertThat(CofferLogging.threshold(null)).isEqualTo(Level.WARN.toInt());
        assertThat(CofferLogging.threshold("")).isEqualTo(Level.WARN.toInt());
        assertThat(CofferLogging.threshold("nonsense")).isEqualTo(Level.WARN.toInt());
        assertThat(CofferLogging.threshold("debug")).isEqualTo(Level.DEBUG.toInt());
        assertThat(CofferLogging.threshold(" Info ")).isEqualTo(Level.INFO.toInt());
        assertThat(CofferLogging.threshold("TRACE")).isEqualTo(Level.TRACE.toInt());
        assertThat(CofferLogging.threshold("all")).isEqualTo(Level.TRACE.toInt());
        assertThat(CofferLogging.threshold("error")).isEqualTo(Level.ERROR.toInt());
        assertThat(CofferLogging.threshold("OFF")).isGreaterThan(Level.ERROR.toInt());
    }

    @Test
    void aCommand_getsStderrLines_atWarnByDefault() {
        CofferLogging p = new CofferLogging();
        p.initialize();
        Logger log = p.getLoggerFactory().getLogger("dev.coffer.agent.restore.DirectoryTarget");
        assertThat(log).isInstanceOf(CofferLogging.Line.class);
        assertThat(p.getLoggerFactory().getLogger("dev.coffer.agent.restore.DirectoryTarget")).isSameAs(log);
        int level = CofferLogging.threshold(System.getenv("COFFER_LOG_LEVEL"));
        assertThat(log.isWarnEnabled()).isEqualTo(Level.WARN.toInt() >= level);
        assertThat(log.isDebugEnabled()).isEqualTo(Level.DEBUG.toInt() >= level);
        assertThat(log.getName()).isEqualTo("dev.coffer.agent.restore.DirectoryTarget");
    }

    @Test
    void aLine_readsAsLogbacksLine() {
        Instant when = Instant.parse("2026-11-22T05:55:36.149Z");
        String stamp = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").withZone(ZoneId.systemDefault()).format(when);
        String nl = System.lineSeparator();
        assertThat(CofferLogging.Line.format(when, Level.WARN, "DirectoryTarget", "restore failed file=a", null))
                .isEqualTo(stamp + " WARN  DirectoryTarget restore failed file=a" + nl);
        assertThat(CofferLogging.Line.format(when, Level.ERROR, "X", "m", null)).isEqualTo(stamp + " ERROR X m" + nl);
        String withTrace = CofferLogging.Line.format(when, Level.INFO, "X", "m", new IllegalStateException("boom"));
        assertThat(withTrace).startsWith(stamp + " INFO  X m" + nl + "java.lang.IllegalStateException: boom" + nl)
                .contains("\tat dev.coffer.agent.CofferLoggingTest.aLine_readsAsLogbacksLine");
    }

    @Test
    void aDaemon_getsLogback() {
        CofferLogging.useLogback();
        CofferLogging p = new CofferLogging();
        p.initialize();
        assertThat(p.getLoggerFactory()).isInstanceOf(ch.qos.logback.classic.LoggerContext.class);
        assertThat(p.getLoggerFactory().getLogger("x")).isInstanceOf(ch.qos.logback.classic.Logger.class);
    }
}
