package dev.coffer.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** java.util.logging of the short commands: Coffer's stderr lines at COFFER_LOG_LEVEL, no logging.properties. */
class JulLinesTest {
    @Test
    void levels_letThroughWhatCofferLoggingDoes() {
        assertThat(JulLines.level(CofferLogging.threshold(null))).isEqualTo(Level.WARNING);
        assertThat(JulLines.level(CofferLogging.threshold("error"))).isEqualTo(Level.SEVERE);
        assertThat(JulLines.level(CofferLogging.threshold("info"))).isEqualTo(Level.INFO);
        assertThat(JulLines.level(CofferLogging.threshold("debug"))).isEqualTo(Level.FINE);
        assertThat(JulLines.level(CofferLogging.threshold("trace"))).isEqualTo(Level.ALL);
        assertThat(JulLines.level(CofferLogging.threshold("off"))).isEqualTo(Level.OFF);
        assertThat(JulLines.slf4j(Level.SEVERE)).isEqualTo(org.slf4j.event.Level.ERROR);
        assertThat(JulLines.slf4j(Level.WARNING)).isEqualTo(org.slf4j.event.Level.WARN);
        assertThat(JulLines.slf4j(Level.INFO)).isEqualTo(org.slf4j.event.Level.INFO);
        assertThat(JulLines.slf4j(Level.CONFIG)).isEqualTo(org.slf4j.event.Level.DEBUG);
        assertThat(JulLines.slf4j(Level.FINE)).isEqualTo(org.slf4j.event.Level.DEBUG);
        assertThat(JulLines.slf4j(Level.FINEST)).isEqualTo(org.slf4j.event.Level.TRACE);
    }

    @Test
    void aRecord_isOneCofferLine_withItsParametersAndStackTrace() {
        PrintStream err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            JulLines.ToStderr h = new JulLines.ToStderr();
            h.setLevel(Level.WARNING);
            LogRecord r = new LogRecord(Level.WARNING, "cannot load {0} from {1}");
            r.setLoggerName("com.sun.jna.Native");
            r.setParameters(new Object[] {"jnidispatch", "/tmp/x"});
            r.setThrown(new IllegalStateException("boom"));
            h.publish(r);
            h.publish(new LogRecord(Level.INFO, "below the level: dropped"));
        } finally {
            System.setErr(err);
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        assertThat(text).matches("(?s)\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) WARN  Native "
                + "cannot load jnidispatch from /tmp/x\\Rjava\\.lang\\.IllegalStateException: boom\\R.*");
        assertThat(text).doesNotContain("dropped");
    }

    @Test
    void asTheConfigurationClass_itSetsTheRootLevelAndOneHandler() {
        Logger root = Logger.getLogger("");
        Level level = root.getLevel();
        Handler[] before = root.getHandlers();
        try {
            new JulLines();
            assertThat(root.getLevel()).isEqualTo(JulLines.level(CofferLogging.threshold(System.getenv("COFFER_LOG_LEVEL"))));
            assertThat(root.getHandlers()).hasSize(1).allMatch(h -> h instanceof JulLines.ToStderr);
        } finally {
            for (Handler h : root.getHandlers()) {
                root.removeHandler(h);
            }
            for (Handler h : before) {
                root.addHandler(h);
            }
            root.setLevel(level);
        }
    }

    @Test
    void main_namesItOnlyWhenTheCommandLineNamesNoConfiguration() {
        String cls = System.getProperty("java.util.logging.config.class");
        String file = System.getProperty("java.util.logging.config.file");
        try {
            System.clearProperty("java.util.logging.config.class");
            System.clearProperty("java.util.logging.config.file");
            Main.julLines();
            assertThat(System.getProperty("java.util.logging.config.class")).isEqualTo(JulLines.class.getName());
            System.clearProperty("java.util.logging.config.class");
            System.setProperty("java.util.logging.config.file", "/etc/mine.properties");
            Main.julLines();
            assertThat(System.getProperty("java.util.logging.config.class")).isNull();
            System.clearProperty("java.util.logging.config.file");
            System.setProperty("java.util.logging.config.class", "my.Config");
            Main.julLines();
            assertThat(System.getProperty("java.util.logging.config.class")).isEqualTo("my.Config");
        } finally {
            restore("java.util.logging.config.class", cls);
            restore("java.util.logging.config.file", file);
        }
    }

    @Test
    void main_namesTheDefaultSelectorProvider_unlessOneIsNamed() {
        String key = "java.nio.channels.spi.SelectorProvider";
        String was = System.getProperty(key);
        try {
            System.clearProperty(key);
            Main.defaultSelectorProviderByName();
            // the provider this JVM already uses is the one named: nothing changes but the lookup
            assertThat(System.getProperty(key)).isEqualTo(java.nio.channels.spi.SelectorProvider.provider().getClass().getName());
            System.setProperty(key, "some.Other");
            Main.defaultSelectorProviderByName();
            assertThat(System.getProperty(key)).isEqualTo("some.Other");
        } finally {
            restore(key, was);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
