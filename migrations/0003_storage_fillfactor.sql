-- 0003_storage_fillfactor: leave room on each page so that the updates a turn makes to a key
-- (a new value, the key itself unchanged) can stay on the page as heap-only tuples, without
-- touching the primary key index. Applies to pages written from now on.
ALTER TABLE dobj_storage SET (fillfactor = 80);
ALTER TABLE dobj_alarms SET (fillfactor = 80);
