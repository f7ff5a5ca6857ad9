-- Reason: the foundation: per-server settings and the durable job table the scheduler re-arms from.

CREATE TABLE guild_settings (
    guild_id   INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, key)
);

CREATE TABLE scheduled_jobs (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    dedupe_key TEXT,
    run_at     INTEGER NOT NULL,              -- unix seconds, UTC
    payload    TEXT    NOT NULL DEFAULT '{}', -- JSON of ids and plain values, never objects
    status     TEXT    NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'running', 'done', 'failed', 'cancelled')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    done_at    INTEGER
);
CREATE INDEX scheduled_jobs_pending ON scheduled_jobs (status, run_at);
-- One live job per (server, kind, key): re-scheduling the same reminder replaces nothing twice.
CREATE UNIQUE INDEX scheduled_jobs_live_key
    ON scheduled_jobs (guild_id, kind, dedupe_key)
    WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running');

-- Problems managers must hear about once (a channel the bot lost access to), not on every event.
CREATE TABLE guild_notices (
    guild_id   INTEGER NOT NULL,
    notice_key TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, notice_key)
);
