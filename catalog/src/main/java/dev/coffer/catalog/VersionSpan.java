package dev.coffer.catalog;

import java.util.List;

/** A version and the complete backups (ascending ids) in which it is the path's content. */
public record VersionSpan(Entry entry, List<Long> backups) {}
