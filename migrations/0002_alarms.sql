-- 0002_alarms: one alarm per object, claimed by dobjd pollers with a lease.
-- Times are the server clock's milliseconds since the epoch (dobjd's clock can be moved
-- ahead for tests and drills, so the database's now() is never used for due times).

CREATE TABLE dobj_alarms (
    class          text COLLATE "C" NOT NULL,
    id             bytea NOT NULL CHECK (octet_length(id) = 32),
    due_ms         bigint NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,  -- failed runs of this alarm so far
    lease_owner    text,                        -- the dobjd running it, while claimed
    lease_until_ms bigint,
    parked         boolean NOT NULL DEFAULT false,
    last_error     text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (class, id)
);

-- The pollers' scan: due, not parked, oldest first.
CREATE INDEX dobj_alarms_due ON dobj_alarms (due_ms) WHERE NOT parked;

COMMENT ON TABLE dobj_alarms IS 'the pending alarm of each object; parked rows failed too often';

-- dobj_alarms_fired deletes the alarms a batch of alarm turns ran, and fails the whole commit
-- if any of them is no longer held by this dobjd with that due time (its lease ran out and
-- another server took it, or the object set a new alarm meanwhile): the turn's writes must
-- not commit twice.
CREATE FUNCTION dobj_alarms_fired(classes text[], ids bytea[], dues bigint[], owner text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    DELETE FROM dobj_alarms a
     USING unnest(classes, ids, dues) AS f(class, id, due)
     WHERE a.class = f.class AND a.id = f.id AND a.due_ms = f.due AND a.lease_owner = owner;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> cardinality(ids) THEN
        RAISE EXCEPTION 'alarm lease lost: % of % fired alarms are no longer held by %',
            cardinality(ids) - n, cardinality(ids), owner
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$;
