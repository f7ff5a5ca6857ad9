-- Reason: conflict flags for moderators, their short-lived excerpts, and what each server's moderators taught the flagger.

CREATE TABLE conflict_flags (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    channel_id      INTEGER NOT NULL,          -- the channel, or a thread's parent
    thread_id       INTEGER,                   -- the thread, when the conversation is in one
    status          TEXT    NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'acknowledged', 'handled', 'false_positive')),
    score           REAL    NOT NULL,          -- conversation heat when flagged (or last escalated)
    threshold       REAL    NOT NULL,          -- the server's heat threshold at that moment
    reasons         TEXT    NOT NULL DEFAULT '[]', -- JSON [[code, {ids and numbers}], ...], no text
    escalations     INTEGER NOT NULL DEFAULT 0,
    calm_notes      INTEGER NOT NULL DEFAULT 0,
    post_channel_id INTEGER,                   -- where the moderators' embed is
    post_message_id INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    acked_at        INTEGER,                   -- first moderator response (any button)
    acked_by        INTEGER,
    closed_at       INTEGER,                   -- handled or false positive
    closed_by       INTEGER
);
CREATE INDEX conflict_flags_guild ON conflict_flags (guild_id, created_at);
CREATE INDEX conflict_flags_channel ON conflict_flags (guild_id, channel_id, thread_id, status);

-- Members involved in a flag (authors and targets), for data-rights export and forget.
CREATE TABLE conflict_flag_members (
    flag_id  INTEGER NOT NULL REFERENCES conflict_flags(id) ON DELETE CASCADE,
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    PRIMARY KEY (flag_id, user_id)
);
CREATE INDEX conflict_flag_members_user ON conflict_flag_members (guild_id, user_id);

-- The only message text Hearth keeps: <= 5 excerpts of <= 200 chars per flag, deleted when the flag
-- closes and purged after 7 days at most.
CREATE TABLE conflict_excerpts (
    id         INTEGER PRIMARY KEY,
    flag_id    INTEGER NOT NULL REFERENCES conflict_flags(id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    author_id  INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    score      REAL    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX conflict_excerpts_flag ON conflict_excerpts (flag_id);
CREATE INDEX conflict_excerpts_author ON conflict_excerpts (guild_id, author_id);

-- Per-server learning: heat threshold offset moved by moderators' verdicts.
CREATE TABLE conflict_adaptation (
    guild_id         INTEGER PRIMARY KEY,
    threshold_offset REAL    NOT NULL DEFAULT 0,
    false_positives  INTEGER NOT NULL DEFAULT 0,
    handled          INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL
);

-- Single hostile-lexicon words seen in closed flags' excerpts; never whole messages.
CREATE TABLE conflict_terms (
    guild_id        INTEGER NOT NULL,
    term            TEXT    NOT NULL,
    false_positives INTEGER NOT NULL DEFAULT 0,
    handled         INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (guild_id, term)
);
