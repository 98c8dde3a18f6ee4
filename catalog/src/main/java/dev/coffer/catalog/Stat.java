package dev.coffer.catalog;

import java.util.List;

/** A path's version in one backup together with its streams. */
public record Stat(Entry entry, List<StreamInfo> streams) {}
