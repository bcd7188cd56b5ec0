-- Runs, their journals and their gates.
--
-- `journal` is the single source of truth of a run (DESIGN.md, "Words"); `runs` and `gates` are
-- projections of it, updated by aine-store in the same transaction as the events they come from.
-- Times are milliseconds since the Unix epoch; ids are the text forms of aine-types ids.

CREATE TABLE runs (
    id              TEXT    NOT NULL PRIMARY KEY,           -- run_<ULID>
    workflow        TEXT    NOT NULL,                       -- the workflow's name
    workflow_path   TEXT    NOT NULL,                       -- where the workflow file was read from
    workflow_source TEXT    NOT NULL,                       -- the YAML text the run started with
    status          TEXT    NOT NULL
        CHECK (status IN ('running', 'waiting', 'succeeded', 'failed', 'rejected')),
    -- The open gate a waiting run waits on. Deferred: the runs row is updated before the gate row
    -- is inserted within one append.
    waiting_gate    TEXT    REFERENCES gates (id) DEFERRABLE INITIALLY DEFERRED,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    last_seq        INTEGER NOT NULL CHECK (last_seq >= 0)  -- seq of the last journaled event, 0 if none
);

-- `aine runs [--status S]`, newest first; recovery of running and waiting runs.
CREATE INDEX runs_by_status_created ON runs (status, created_at_ms, id);
CREATE INDEX runs_by_created ON runs (created_at_ms, id);

-- A rowid table rather than WITHOUT ROWID: events carry model outputs and are often larger than
-- the ~200 bytes for which WITHOUT ROWID pays off (https://www.sqlite.org/withoutrowid.html §4).
CREATE TABLE journal (
    run_id TEXT    NOT NULL REFERENCES runs (id),
    seq    INTEGER NOT NULL CHECK (seq >= 1),              -- 1-based, gap-free per run
    kind   TEXT    NOT NULL,                               -- the event's type, e.g. 'gate_opened'
    event  TEXT    NOT NULL,                               -- the aine_types::Event as JSON
    at_ms  INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE gates (
    id            TEXT    NOT NULL PRIMARY KEY,            -- gate_<ULID>
    run_id        TEXT    NOT NULL REFERENCES runs (id),
    step          TEXT    NOT NULL,
    owner_role    TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('open', 'decided')),
    opened_at_ms  INTEGER NOT NULL,
    decided_at_ms INTEGER,
    decided_by    TEXT,
    decision      TEXT    CHECK (decision IN ('approve', 'reject', 'edit')),
    reason        TEXT,
    CHECK ((status = 'open') = (decided_at_ms IS NULL AND decided_by IS NULL AND decision IS NULL))
);

-- The review queue: open gates, oldest first.
CREATE INDEX gates_by_status_opened ON gates (status, opened_at_ms, id);
CREATE INDEX gates_by_run ON gates (run_id);
