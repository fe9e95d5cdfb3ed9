-- The files register keeps each file's delivery order within its night (the archive manifest's
-- seq): the as-of definition's tie-break between two files of one night (warehouse.asof).
-- Files registered before have none: their rows order by position, then hash.
ALTER TABLE files ADD COLUMN IF NOT EXISTS seq BIGINT;
