-- 0004_writer_epoch: the writer epoch. Only the dobjd that holds the writer lock (an advisory
-- lock, server/writer.c) commits; each time one takes the lock it adds one to the epoch, so
-- that a dobjd that lost its connection and takes the lock again can tell whether another
-- wrote meanwhile (its caches are then stale). One row, created here; nothing else locks it.
-- A new table only: this takes no lock that a running (older) dobjd holds or waits for.

CREATE TABLE dobj_writer (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    epoch bigint NOT NULL
);

INSERT INTO dobj_writer (epoch) VALUES (0);

COMMENT ON TABLE dobj_writer IS 'one row: bumped by each dobjd that takes the writer lock';
