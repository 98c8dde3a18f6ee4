-- Coffer catalog schema version 3: what an incremental backup needs to read only the blocks that may
-- have changed inside a changed file (docs/catalog.md, "Change tracking").
-- stream.initialized: a plain stream's valid data length (bytes past it read as zeros); NULL for
-- resident and compressed streams (their clusters are not their content) and when unknown.
ALTER TABLE stream ADD COLUMN initialized INTEGER;
-- backup_disk.layers: the identity (path, size, times, inode) of every file of the chain the backup
-- read, leaf first, when none of them changed while it read; NULL otherwise.
ALTER TABLE backup_disk ADD COLUMN layers TEXT;
