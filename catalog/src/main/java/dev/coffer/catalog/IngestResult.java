package dev.coffer.catalog;

/** What one volume's ingest wrote: versions added, versions carried forward unchanged, versions closed (changed or deleted). */
public record IngestResult(long added, long carried, long closed) {}
