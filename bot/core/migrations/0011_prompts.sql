-- Reason: managers' own discussion prompts per server (issue 13): text, kind, poll options, retired or live, with a duplicate key


-- A manager's own prompt. text_key is the duplicate-check form (case-folded, spaces collapsed):
-- two live prompts of a server never share it; a retired prompt frees its text.
CREATE TABLE prompts (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    text_key   TEXT    NOT NULL,
    options    TEXT    NOT NULL DEFAULT '[]',
    created_by INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    retired_at INTEGER
);
CREATE UNIQUE INDEX prompts_live_text ON prompts(guild_id, text_key) WHERE retired_at IS NULL;
CREATE INDEX prompts_guild_kind ON prompts(guild_id, kind, retired_at);
