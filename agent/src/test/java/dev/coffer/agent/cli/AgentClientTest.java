package dev.coffer.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.coffer.agent.ExitCodes;
import dev.coffer.agent.Main;
import dev.coffer.agent.daemon.AgentDaemon;
import dev.coffer.agent.daemon.DaemonFixture;
import dev.coffer.agent.daemon.DaemonOptions;
import dev.coffer.agent.daemon.Job;
import dev.coffer.agent.restore.DirectoryTarget;
import dev.coffer.agent.restore.TargetServer;
import dev.coffer.dedup.DestinationServer;
import dev.coffer.dedup.ServerOptions;
import dev.coffer.testkit.Fixtures;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI as a client of a real daemon on the vm-folder fixture: every command prints the same
 * through the agent (found through {@code --config}, or named with {@code --socket}) as with
 * {@code --local} on the same catalog; a backup and restores made by the agent print what local ones
 * print; a config whose socket nobody answers on works directly.
 */
class AgentClientTest {
    @TempDir
    static Path dir;
    static DaemonFixture fx;
    static AgentDaemon daemon;
    static DestinationServer server;
    /** A config with its own catalog and store whose socket no agent listens on. */
    static Path alone;
    static Run agentFirst;
    static Run aloneFirst;
    static Run agentSecond;
    static Run agentSnapshot;

    record Run(int rc, String out, String err) {}

    @BeforeAll
    static void start() throws Exception {
        fx = new DaemonFixture(dir);
        // a destination server, so that the agent and a --local command can both use it at once
        // (an embedded store is locked by the one process that opens it)
        server = DestinationServer.start(ServerOptions.of(dir.resolve("store"), new InetSocketAddress("127.0.0.1", 0),
                ServerOptions.Auth.plaintextLoopback("dest-token".getBytes(StandardCharsets.UTF_8))));
        Files.writeString(dir.resolve("dest.token"), "dest-token\n");
        Files.writeString(fx.config, "catalog: catalog.db\ndestination:\n  address: 127.0.0.1:" + server.address().getPort()
                + "\n  token_file: dest.token\n  plaintext: true\ndatastores:\n  - name: ds1\n    path: ds\n"
                + "    snapshots: \"{datastore}/.snapshot/{snapshot}\"\n"
                + "query:\n  socket: run/query.sock\ntimezone: UTC\n");
        daemon = new AgentDaemon(fx.config, DaemonOptions.defaults().withPeriods(50, 100), Clock.systemUTC());
        daemon.start();
        alone = Files.writeString(dir.resolve("alone.yaml"), "catalog: alone/catalog.db\ndestination:\n  store: alone/store\n"
                + "datastores:\n  - name: ds1\n    path: ds\nquery:\n  socket: alone/query.sock\ntimezone: UTC\n");
        String vmFolder = fx.datastore.resolve("winvm").toString();
        agentFirst = coffer("backup", vmFolder, "--json", "--config", fx.config.toString());
        aloneFirst = coffer("backup", vmFolder, "--json", "--config", alone.toString());
        agentSecond = coffer("backup", vmFolder, "--full", "--config", fx.config.toString());
        fx.snapshot("s1");
        agentSnapshot = coffer("backup", vmFolder, "--source", "storage-snapshot", "--snapshot", "s1", "--json",
                "--config", fx.config.toString());
    }

    @AfterAll
    static void stop() throws Exception {
        if (daemon != null) {
            daemon.stop();
        }
        if (server != null) {
            server.close();
        }
    }

    static Run coffer(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(rc, out.toString(), err.toString());
    }

    static String[] with(List<String> args, String... more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    /** Output with run-dependent figures masked: elapsed seconds, rates, and the given directories. */
    static String masked(String s, Path... dirs) {
        for (Path d : dirs) {
            s = s.replace(d.toString(), "<DIR>");
        }
        return s.replaceAll("\"seconds\" : [0-9.Ee-]+", "\"seconds\" : <S>")
                .replaceAll("in [0-9.]+ s", "in <S> s").replaceAll(", [0-9.]+ [KMGi]*B/s", ", <RATE>/s")
                .replaceAll("[0-9]+ B/s", "<RATE>/s");
    }

    @Test
    void backup_throughTheAgent_printsWhatALocalBackupOfTheSameVmPrints() throws Exception {
        assertThat(agentFirst.rc()).as(agentFirst.err()).isEqualTo(ExitCodes.OK);
        assertThat(aloneFirst.rc()).as(aloneFirst.err()).isEqualTo(ExitCodes.OK);
        assertThat(masked(agentFirst.out())).isEqualTo(masked(aloneFirst.out())).contains("\"files\"", "\"bytesRead\"");
        // the agent made it: its job, and the catalog records the API's policy instead of the CLI's "manual"
        assertThat(daemon.jobs()).filteredOn(j -> j.spec().kind() == Job.Kind.BACKUP).hasSize(3)
                .allMatch(j -> j.state() == Job.State.COMPLETE);
        assertThat(coffer("backups", "--json", "--config", fx.config.toString()).out()).contains("\"policy\" : \"api\"")
                .doesNotContain("manual");
        assertThat(coffer("backups", "--json", "--config", alone.toString()).out()).contains("\"policy\" : \"manual\"");
        assertThat(agentSecond.rc()).as(agentSecond.err()).isEqualTo(ExitCodes.OK);
        assertThat(agentSecond.out()).startsWith("backup 2 of \"winvm\" complete in ").contains("  disk scsi0:0  ok  winvm.vmdk",
                "  files ", "  read ", "  new ");
        assertThat(agentSecond.err()).contains("crash-inconsistent");
        // --full reaches the agent: backup 2 read every file again, the others did not
        assertThat(daemon.jobs()).filteredOn(j -> j.spec().kind() == Job.Kind.BACKUP)
                .extracting(j -> j.spec().reread()).containsExactly(false, true, false);
        // --source and --snapshot reach the agent: backup 3 read the storage snapshot
        assertThat(agentSnapshot.rc()).as(agentSnapshot.err()).isEqualTo(ExitCodes.OK);
        assertThat(agentSnapshot.out()).contains("\"backup\" : 3", "\"consistency\" : \"storage-snapshot\"");
        assertThat(agentSnapshot.err()).isEmpty();
        Run bad = coffer("backup", fx.datastore.resolve("winvm").toString(), "--source", "storage-snapshot", "--snapshot",
                "nope", "--config", fx.config.toString());
        assertThat(bad.rc()).isEqualTo(ExitCodes.FAILED);
        assertThat(bad.err()).startsWith("coffer: backup job j-").contains("failed").contains("nope");
    }

    @Test
    void backup_throughTheAgent_refusesWhatTheAgentDoesNotDo() {
        String vmFolder = fx.datastore.resolve("winvm").toString();
        Run r = coffer("backup", vmFolder, "--block-size", "64KiB", "--config", fx.config.toString());
        assertThat(r.rc()).isEqualTo(ExitCodes.FAILED);
        assertThat(r.err()).startsWith("coffer: --block-size is not available through the agent");
        Run notOnDatastore = coffer("backup", dir.resolve("elsewhere").toString(), "--config", fx.config.toString());
        assertThat(notOnDatastore.rc()).isEqualTo(ExitCodes.FAILED);
        assertThat(notOnDatastore.err()).contains("is not a VM folder on the agent's datastores");
    }

    static final List<List<String>> QUERIES = List.of(
            List.of("backups"), List.of("backups", "--json"), List.of("backups", "--vm", "winvm"),
            List.of("ls", "latest:/Documents"), List.of("ls", "2:/", "--json"),
            List.of("ls", "winvm@1:/Program Files/App", "--offset", "3", "--limit", "5"),
            List.of("ls", "latest:/Program Files/App", "--json", "--limit", "4"),
            List.of("find", "*.csv"), List.of("find", "*.txt", "--json", "--backup", "latest"),
            List.of("find", "--regex", "Reports/.*", "--limit", "1"), List.of("find", "module0*", "--backup", "winvm@2"),
            List.of("history", "/Documents/hello.txt"), List.of("history", "1:/Documents/Reports/q1.csv", "--json"),
            List.of("diff", "1", "2"), List.of("diff", "1", "latest", "--json"), List.of("verify"), List.of("verify", "--json"),
            // errors: the same one line and exit code
            List.of("ls", "77:/"), List.of("ls", "latest:/nope"), List.of("diff", "1", "zz"), List.of("backups", "--vm", "nobody"));

    @Test
    void everyQuery_printsTheSameThroughTheAgentAndDirectly() {
        int failures = 0;
        for (List<String> q : QUERIES) {
            Run local = coffer(with(q, "--config", fx.config.toString(), "--local"));
            Run agent = coffer(with(q, "--config", fx.config.toString()));
            // no config at all: only the agent on --socket can answer
            Run socket = coffer(with(q, "--socket", fx.socket.toString()));
            assertThat(agent).as("%s through the agent", q).isEqualTo(local);
            assertThat(socket).as("%s through --socket", q).isEqualTo(local);
            if (local.rc() == ExitCodes.OK) {
                assertThat(local.out()).as("%s", q).isNotBlank();
            } else {
                failures++;
                assertThat(local.err()).as("%s", q).startsWith("coffer: ");
            }
        }
        assertThat(failures).isEqualTo(4);
        assertThat(coffer("ls", "latest:/Documents", "--socket", fx.socket.toString()).out()).contains("hello.txt", "Reports");
        assertThat(coffer("verify", "--config", fx.config.toString()).out()).matches("checked [0-9,]+ blocks: all intact\\n");
        assertThat(daemon.jobs()).filteredOn(j -> j.spec().kind() == Job.Kind.VERIFY).isNotEmpty()
                .allMatch(j -> j.state() == Job.State.COMPLETE);
    }

    @Test
    void withoutAnAgent_theConfigStillWorksDirectly_andAnExplicitSocketMustAnswer() {
        Run ls = coffer("ls", "latest:/Documents", "--config", alone.toString());
        assertThat(ls.rc()).as(ls.err()).isEqualTo(ExitCodes.OK);
        assertThat(ls.out()).contains("hello.txt", "Reports");
        Run none = coffer("ls", "latest:/", "--socket", dir.resolve("alone/query.sock").toString());
        assertThat(none.rc()).isEqualTo(ExitCodes.FAILED);
        assertThat(none.err()).startsWith("coffer: no agent answers on ");
        assertThat(coffer("ls", "latest:/", "--local", "--socket", fx.socket.toString()).err()).contains("contradict");
    }

    @Test
    void fileRestores_throughTheAgent_printAndWriteWhatLocalRestoresDo() throws Exception {
        List<List<String>> restores = List.of(
                List.of("restore", "latest:/Documents", "--streams", "--json"),
                List.of("restore", "latest:/Documents", "--streams", "--existing", "skip"),
                List.of("restore", "latest:/Documents/Reports", "--existing", "overwrite", "--workers", "2", "--json"),
                List.of("restore", "1:/", "--glob", "module0[1-4].dll", "--json"),
                List.of("restore", "latest:/Documents/hello.txt:Zone.Identifier", "--json"),
                List.of("restore", "latest:/Documents/hello.txt"),
                List.of("restore", "latest:/Documents/hello.txt", "--json"),
                List.of("restore", "latest:/Documents/none.txt"),
                List.of("restore", "latest:/Documents/none.txt:stream"),
                List.of("restore", "latest", "--disk", "ide1:0"),
                List.of("restore", "latest:/Documents", "--existing", "merge"));
        Path a = dir.resolve("restored-by-agent");
        Path l = dir.resolve("restored-locally");
        for (List<String> r : restores) {
            Run agent = coffer(with(r, "--to", a.toString(), "--config", fx.config.toString()));
            Run local = coffer(with(r, "--to", l.toString(), "--config", fx.config.toString(), "--local"));
            assertThat(agent.rc()).as("%s: %s", r, agent.err()).isEqualTo(local.rc());
            assertThat(masked(agent.out(), a)).as("%s", r).isEqualTo(masked(local.out(), l));
            assertThat(masked(agent.err(), a)).as("%s", r).isEqualTo(masked(local.err(), l));
        }
        assertThat(tree(a)).isEqualTo(tree(l)).containsKeys("Documents/Reports/data.bin", "Documents/hello.txt",
                "hello.txt~Zone.Identifier.ads", "Program Files/App/module03.dll", "hello.txt").hasSize(15);
        assertThat(daemon.jobs()).filteredOn(j -> j.spec().kind() == Job.Kind.RESTORE)
                .anyMatch(j -> j.spec().restoreTo().equals(a.toString()));
    }

    @Test
    void restoreToATargetServer_throughTheAgent_sendsTheTokenAndTheFiles() throws Exception {
        Path tokenFile = Files.writeString(dir.resolve("target.token"), "target-token\n");
        Map<String, String> a;
        Map<String, String> l;
        List<String> outs = new ArrayList<>();
        for (boolean viaAgent : new boolean[] {true, false}) {
            Path root = Files.createDirectories(dir.resolve(viaAgent ? "target-a" : "target-l"));
            try (TargetServer server = TargetServer.start(new InetSocketAddress("127.0.0.1", 0),
                    DirectoryTarget.open(root, DirectoryTarget.Options.defaults()), "target-token",
                    TargetServer.Options.defaults())) {
                String url = "http://127.0.0.1:" + server.address().getPort();
                String[] mode = viaAgent ? new String[] {"--config", fx.config.toString()}
                        : new String[] {"--config", fx.config.toString(), "--local"};
                Run r = coffer(with(List.of("restore", "latest:/Documents/Reports", "--to", url, "--target-token-file",
                        tokenFile.toString(), "--json"), mode));
                assertThat(r.rc()).as(r.err()).isEqualTo(ExitCodes.OK);
                outs.add(masked(r.out()));
            }
        }
        a = tree(dir.resolve("target-a"));
        l = tree(dir.resolve("target-l"));
        assertThat(a).isEqualTo(l).containsKeys("Reports/data.bin", "Reports/q1.csv");
        assertThat(outs.get(0)).isEqualTo(outs.get(1));
        Run noToken = coffer("restore", "latest:/Documents", "--to", "http://127.0.0.1:9", "--config", fx.config.toString());
        assertThat(noToken.rc()).isEqualTo(ExitCodes.FAILED);
        assertThat(noToken.err()).contains("needs --target-token-file");
    }

    @Test
    void diskAndVmFileRestores_throughTheAgent_equalLocalOnes() throws Exception {
        Path raw = Fixtures.build("vm-folder", "mbr", "winvm").resolve("disk.raw");
        Map<String, String> md5 = new TreeMap<>();
        List<String> outs = new ArrayList<>();
        for (String how : List.of("agent", "local")) {
            String[] mode = how.equals("agent") ? new String[] {"--config", fx.config.toString()}
                    : new String[] {"--config", fx.config.toString(), "--local"};
            Path d = Files.createDirectories(dir.resolve("disk-" + how));
            Run rawRun = coffer(with(List.of("restore", "latest", "--disk", "scsi0:0", "--to", d.resolve("d.raw").toString(),
                    "--json"), mode));
            assertThat(rawRun.rc()).as(rawRun.err()).isEqualTo(ExitCodes.OK);
            Run vmdkRun = coffer(with(List.of("restore", "winvm@1", "--disk", "scsi0:0", "--format", "vmdk", "--to",
                    d.resolve("d.vmdk").toString()), mode));
            assertThat(vmdkRun.rc()).as(vmdkRun.err()).isEqualTo(ExitCodes.OK);
            Run sparse = coffer(with(List.of("restore", "latest", "--disk", "0", "--format", "vmdk-sparse", "--to",
                    d.resolve("sparse.vmdk").toString()), mode));
            assertThat(sparse.rc()).as(sparse.err()).isEqualTo(ExitCodes.OK);
            assertThat(Fixtures.run("qemu-img", "info", d.resolve("sparse.vmdk").toString()))
                    .contains("create type: monolithicSparse");
            Fixtures.run("qemu-img", "check", d.resolve("sparse.vmdk").toString());
            assertThat(Fixtures.run("qemu-img", "compare", "-f", "vmdk", "-F", "raw", d.resolve("sparse.vmdk").toString(),
                    d.resolve("d.raw").toString())).contains("Images are identical");
            Run vmFiles = coffer(with(List.of("restore", "latest", "--vm-files", "--to", d.resolve("vm").toString()), mode));
            assertThat(vmFiles.rc()).as(vmFiles.err()).isEqualTo(ExitCodes.OK);
            outs.add(masked(rawRun.out() + vmdkRun.out() + sparse.out() + vmFiles.out(), d));
            md5.put(how + ".raw", Fixtures.md5(d.resolve("d.raw")));
            Fixtures.run("qemu-img", "check", d.resolve("d.vmdk").toString());
            Path converted = d.resolve("from-vmdk.raw");
            Fixtures.run("qemu-img", "convert", "-f", "vmdk", "-O", "raw", d.resolve("d.vmdk").toString(), converted.toString());
            md5.put(how + ".vmdk", Fixtures.md5(converted));
            md5.put(how + ".vmx", Fixtures.md5(d.resolve("vm/winvm.vmx")));
        }
        assertThat(outs.get(0)).isEqualTo(outs.get(1)).contains("\"file\" : \"<DIR>/d.raw\"",
                "rebuilt disk scsi0:0 of backup 1 into <DIR>/d.vmdk", "into <DIR>/sparse.vmdk", "winvm.vmx");
        assertThat(md5.get("agent.raw")).isEqualTo(md5.get("local.raw")).isEqualTo(md5.get("agent.vmdk"))
                .isEqualTo(md5.get("local.vmdk"));
        assertThat(md5.get("agent.vmx")).isEqualTo(md5.get("local.vmx"))
                .isEqualTo(Fixtures.md5(fx.datastore.resolve("winvm/winvm.vmx")));
        assertThat(Files.size(dir.resolve("disk-agent/d.raw"))).isEqualTo(Files.size(raw));
    }

    @Test
    void diskToStdout_throughTheAgent_streamsTheImage() throws Exception {
        Path local = dir.resolve("stdout-local.raw");
        Run l = coffer("restore", "latest", "--disk", "scsi0:0", "--to", local.toString(), "--config", fx.config.toString(),
                "--local");
        assertThat(l.rc()).as(l.err()).isEqualTo(ExitCodes.OK);
        for (String format : List.of("raw", "vmdk")) {
            // a child JVM: --to - writes to the process's own stdout
            Path out = dir.resolve("stdout." + format);
            Path err = dir.resolve("stdout." + format + ".err");
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    System.getProperty("java.class.path"), Main.class.getName(), "restore", "latest", "--disk", "scsi0:0",
                    "--format", format, "--to", "-", "--socket", fx.socket.toString())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertThat(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(Files.readString(err)).isZero();
            Path raw = out;
            if (format.equals("vmdk")) {
                raw = dir.resolve("stdout-vmdk.raw");
                Fixtures.run("qemu-img", "convert", "-f", "vmdk", "-O", "raw", out.toString(), raw.toString());
            }
            assertThat(Fixtures.md5(raw)).as(format).isEqualTo(Fixtures.md5(local));
        }
    }

    /** Relative path → MD5 of every regular file under {@code root}. */
    static Map<String, String> tree(Path root) throws Exception {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                m.put(root.relativize(p).toString(), Fixtures.md5(p));
            }
        }
        return m;
    }
}
