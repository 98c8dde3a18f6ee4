-- Coffer catalog schema version 1. Documented in docs/catalog.md; each statement ends with ';' on its own line end.
CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    applied_ns INTEGER NOT NULL
);
CREATE TABLE datastore (
    id   INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE
);
CREATE TABLE vm (
    id           INTEGER PRIMARY KEY,
    datastore_id INTEGER NOT NULL REFERENCES datastore(id),
    folder       TEXT NOT NULL,
    display_name TEXT NOT NULL,
    uuid         TEXT,
    UNIQUE (datastore_id, folder)
);
CREATE TABLE disk (
    id             INTEGER PRIMARY KEY,
    vm_id          INTEGER NOT NULL REFERENCES vm(id),
    slot           TEXT NOT NULL,
    file_path      TEXT NOT NULL,
    chain          TEXT NOT NULL,
    capacity_bytes INTEGER NOT NULL,
    UNIQUE (vm_id, slot)
);
CREATE TABLE volume (
    id              INTEGER PRIMARY KEY,
    disk_id         INTEGER NOT NULL REFERENCES disk(id),
    partition_index INTEGER NOT NULL,
    offset_bytes    INTEGER NOT NULL,
    length_bytes    INTEGER NOT NULL,
    fs_kind         TEXT NOT NULL,
    serial          TEXT,
    cluster_bytes   INTEGER NOT NULL,
    UNIQUE (disk_id, partition_index)
);
CREATE TABLE backup (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    vm_id         INTEGER NOT NULL REFERENCES vm(id),
    state         TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed', 'pruned')),
    started_ns    INTEGER NOT NULL,
    ended_ns      INTEGER,
    consistency   TEXT NOT NULL,
    policy        TEXT NOT NULL,
    error         TEXT,
    files         INTEGER NOT NULL DEFAULT 0,
    logical_bytes INTEGER NOT NULL DEFAULT 0,
    new_bytes     INTEGER NOT NULL DEFAULT 0,
    stored_bytes  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX backup_vm ON backup (vm_id, id);
CREATE TABLE backup_disk (
    backup_id      INTEGER NOT NULL REFERENCES backup(id),
    disk_id        INTEGER NOT NULL REFERENCES disk(id),
    chain          TEXT NOT NULL,
    capacity_bytes INTEGER NOT NULL,
    bytes_read     INTEGER NOT NULL,
    PRIMARY KEY (backup_id, disk_id)
) WITHOUT ROWID;
CREATE TABLE backup_volume (
    backup_id INTEGER NOT NULL REFERENCES backup(id),
    volume_id INTEGER NOT NULL REFERENCES volume(id),
    added     INTEGER NOT NULL,
    carried   INTEGER NOT NULL,
    closed    INTEGER NOT NULL,
    PRIMARY KEY (backup_id, volume_id)
) WITHOUT ROWID;
CREATE TABLE dir (
    id        INTEGER PRIMARY KEY,
    volume_id INTEGER NOT NULL REFERENCES volume(id),
    path      TEXT NOT NULL,
    UNIQUE (volume_id, path)
);
CREATE TABLE name (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE version (
    id            INTEGER PRIMARY KEY,
    dir_id        INTEGER NOT NULL,
    name_id       INTEGER NOT NULL,
    valid_from    INTEGER NOT NULL,
    valid_to      INTEGER,
    kind          INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    mft_record    INTEGER NOT NULL,
    mft_sequence  INTEGER NOT NULL,
    parent_record INTEGER NOT NULL,
    created_ns    INTEGER NOT NULL,
    modified_ns   INTEGER NOT NULL,
    changed_ns    INTEGER NOT NULL,
    accessed_ns   INTEGER NOT NULL,
    attributes    INTEGER NOT NULL,
    fingerprint   INTEGER NOT NULL
);
CREATE INDEX version_path ON version (dir_id, name_id, valid_from, valid_to);
CREATE INDEX version_name ON version (name_id);
CREATE INDEX version_from ON version (valid_from);
CREATE INDEX version_to ON version (valid_to) WHERE valid_to IS NOT NULL;
CREATE TABLE stream (
    version_id INTEGER NOT NULL,
    name       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    blocks     BLOB NOT NULL,
    runs       BLOB NOT NULL,
    PRIMARY KEY (version_id, name)
) WITHOUT ROWID;
CREATE TABLE destination (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE block (
    sha256         BLOB PRIMARY KEY,
    md5            BLOB NOT NULL,
    size           INTEGER NOT NULL,
    first_backup   INTEGER,
    refs           INTEGER NOT NULL DEFAULT 0,
    destination_id INTEGER REFERENCES destination(id),
    stored_size    INTEGER,
    codec          TEXT,
    locator        BLOB
) WITHOUT ROWID;
CREATE TABLE region (
    id           INTEGER PRIMARY KEY,
    backup_id    INTEGER NOT NULL REFERENCES backup(id),
    disk_id      INTEGER NOT NULL REFERENCES disk(id),
    offset_bytes INTEGER NOT NULL,
    length_bytes INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    blocks       BLOB NOT NULL
);
CREATE INDEX region_backup ON region (backup_id);
