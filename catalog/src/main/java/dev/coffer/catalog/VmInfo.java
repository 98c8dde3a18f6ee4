package dev.coffer.catalog;

/** A registered VM: the datastore it lives on, its folder there, its display name and BIOS/instance uuid (may be null). */
public record VmInfo(long id, long datastoreId, String datastorePath, String folder, String displayName, String uuid) {}
