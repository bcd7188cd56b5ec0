-- The audit log: append-only, hash-chained (each entry holds the SHA-256 of the previous one).
-- `hash` = SHA-256 over the RFC 8785 canonical JSON of the entry's other fields (see audit.rs).
-- `audit_head` mirrors the last entry so that deleting the newest entries is detected too.

CREATE TABLE audit (
    seq           INTEGER NOT NULL PRIMARY KEY CHECK (seq >= 1),  -- 1-based, gap-free
    at_ms         INTEGER NOT NULL,
    kind          TEXT    NOT NULL,          -- e.g. 'run.started', 'gate.decided', 'spec.published'
    run_id        TEXT,                      -- the run it concerns, if any
    journal_seq   INTEGER,                   -- the journal event it records, if any
    event_sha256  TEXT,                      -- SHA-256 of that event's stored JSON
    actor         TEXT    NOT NULL,          -- a person id, or 'system'
    payload       TEXT    NOT NULL,          -- canonical JSON
    prev_hash     TEXT    NOT NULL,
    hash          TEXT    NOT NULL
);

CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
