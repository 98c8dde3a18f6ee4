-- Coffer catalog schema version 2: a log of the consistent copies taken for the destination (Catalog.copyTo).
CREATE TABLE copy_log (
    id          INTEGER PRIMARY KEY,
    taken_ns    INTEGER NOT NULL,
    target      TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    last_backup INTEGER
);
