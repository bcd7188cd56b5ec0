-- Bearer tokens of the HTTP API (`aine token create --as PERSON`), one person each.
--
-- Only the SHA-256 (hex) of a token is stored: a stolen database does not give working tokens.
-- Tokens are 256-bit random values, so an unsalted fast hash is enough (no dictionary to try).

CREATE TABLE tokens (
    sha256        TEXT    NOT NULL PRIMARY KEY,   -- SHA-256 (hex) of the token's text
    person        TEXT    NOT NULL,               -- the aine.toml person it authenticates
    label         TEXT    NOT NULL DEFAULT '',    -- what it is for, as given at creation
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER                         -- set when revoked; NULL while valid
);

CREATE INDEX tokens_by_person ON tokens (person);
