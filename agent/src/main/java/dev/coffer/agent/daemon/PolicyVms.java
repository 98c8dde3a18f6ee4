package dev.coffer.agent.daemon;

import dev.coffer.agent.config.AgentConfig;
import dev.coffer.agent.discovery.Discovery;
import dev.coffer.agent.discovery.VirtualMachine;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMs a policy selects: every VM of the policy's datastores whose folder name matches the folder
 * glob, whose display name matches the name regex (whole name), and whose {@code .vmx} carries every
 * tag of the policy with the same value.
 */
final class PolicyVms {
    private static final Logger log = LoggerFactory.getLogger(PolicyVms.class);

    private PolicyVms() {}

    /** One selected VM with the datastore it is on. */
    record Selected(AgentConfig.Datastore datastore, VirtualMachine vm) {}

    static List<Selected> select(AgentConfig config, AgentConfig.Policy p) {
        PathMatcher glob = FileSystems.getDefault().getPathMatcher("glob:" + p.folderGlob());
        Pattern name = Pattern.compile(p.nameRegex());
        List<Selected> out = new ArrayList<>();
        for (AgentConfig.Datastore ds : config.datastores()) {
            if (!p.datastores().contains(ds.name())) {
                continue;
            }
            List<VirtualMachine> vms;
            try {
                vms = Discovery.scan(ds.path(), (f, e) -> log.warn("discovery skipped folder={} error=\"{}\"", f,
                        e.getMessage()));
            } catch (IOException e) {
                log.error("datastore unreadable datastore={} error=\"{}\"", ds.name(), e.getMessage());
                continue;
            }
            for (VirtualMachine vm : vms) {
                if (matches(p, glob, name, vm)) {
                    out.add(new Selected(ds, vm));
                }
            }
        }
        return out;
    }

    static boolean matches(AgentConfig.Policy p, PathMatcher glob, Pattern name, VirtualMachine vm) {
        if (!glob.matches(vm.folder().getFileName())) {
            return false;
        }
        if (!name.matcher(vm.displayName()).matches()) {
            return false;
        }
        for (Map.Entry<String, String> t : p.tags().entrySet()) {
            if (!t.getValue().equals(vm.tags().get(t.getKey()))) {
                return false;
            }
        }
        return true;
    }
}
