-- 0001_init: objects and their key/value storage.
-- Keys compare by their bytes (COLLATE "C"), the order dobj_storage_list() promises.

CREATE TABLE dobj_objects (
    class      text COLLATE "C" NOT NULL,
    id         bytea NOT NULL CHECK (octet_length(id) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (class, id)
);

CREATE TABLE dobj_storage (
    class text COLLATE "C" NOT NULL,
    id    bytea NOT NULL,
    key   text COLLATE "C" NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (class, id, key)
);

COMMENT ON TABLE dobj_objects IS 'one row per object that has ever committed a write';
COMMENT ON TABLE dobj_storage IS 'one row per stored key of an object; value is the raw bytes';
