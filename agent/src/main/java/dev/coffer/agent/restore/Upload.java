package dev.coffer.agent.restore;

import java.util.List;

/**
 * The handle {@link RestoreTarget#begin} returns for one file: what the target will call it and
 * which bytes it already holds, verified, from an earlier interrupted attempt.
 *
 * @param file the file being restored
 * @param id the target's stable id for this upload (the same after a target restart)
 * @param targetPath the mapped path relative to the root, components joined with {@code /} (the
 *     final name may still change at commit under {@link ExistingPolicy#RENAME})
 * @param skip {@code true} when the file exists and the policy is {@link ExistingPolicy#SKIP}: send
 *     nothing, and {@link RestoreTarget#commit} reports it skipped
 * @param verified byte ranges already written and verified; the sender sends only the rest
 * @param mappings the names that had to be changed to be safe on the target
 */
public record Upload(RestoreFile file, String id, String targetPath, boolean skip, List<ByteRange> verified,
        List<NameMapping> mappings) {
    /** Copies the lists. */
    public Upload {
        verified = List.copyOf(verified);
        mappings = List.copyOf(mappings);
    }

    /** Bytes already verified at the target. */
    public long verifiedBytes() {
        long n = 0;
        for (ByteRange r : verified) {
            n += r.length();
        }
        return n;
    }
}
