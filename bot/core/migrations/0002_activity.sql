-- Reason: the activity pipeline: per-message facts without text, members, reactions, opt-outs, bounded text retention and daily roll-ups.

-- One row per member message (bots and webhooks excluded). No text here, ever.
CREATE TABLE activity_messages (
    guild_id            INTEGER NOT NULL,
    message_id          INTEGER NOT NULL,
    channel_id          INTEGER NOT NULL,          -- the parent channel when posted in a thread
    thread_id           INTEGER,
    author_id           INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,          -- unix seconds, UTC
    length              INTEGER NOT NULL,
    mention_count       INTEGER NOT NULL DEFAULT 0,
    attachment_count    INTEGER NOT NULL DEFAULT 0,
    compound            REAL    NOT NULL,          -- VADER compound, computed once at ingestion
    lang                TEXT    NOT NULL,
    reply_to_message_id INTEGER,
    reply_to_author_id  INTEGER,
    is_question         INTEGER NOT NULL DEFAULT 0,
    is_newcomer         INTEGER NOT NULL DEFAULT 0, -- author joined less than 14 days before
    first_reply_at      INTEGER,                   -- earliest reply by someone else
    edited_at           INTEGER,
    PRIMARY KEY (guild_id, message_id)
) WITHOUT ROWID;
CREATE INDEX activity_messages_author ON activity_messages (guild_id, author_id, created_at);
CREATE INDEX activity_messages_reply ON activity_messages (guild_id, reply_to_message_id)
    WHERE reply_to_message_id IS NOT NULL;
-- Responsiveness reads only questions and newcomers' messages.
CREATE INDEX activity_messages_awaiting ON activity_messages (guild_id, created_at)
    WHERE is_question = 1 OR is_newcomer = 1;

CREATE TABLE activity_reactions (
    guild_id          INTEGER NOT NULL,
    message_id        INTEGER NOT NULL,
    user_id           INTEGER NOT NULL,
    emoji             TEXT    NOT NULL,
    channel_id        INTEGER NOT NULL,
    message_author_id INTEGER,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (guild_id, message_id, user_id, emoji)
) WITHOUT ROWID;
CREATE INDEX activity_reactions_user ON activity_reactions (guild_id, user_id);
CREATE INDEX activity_reactions_author ON activity_reactions (guild_id, message_author_id);

-- Onboarding reads this too: when a member joined, left and first spoke.
CREATE TABLE members (
    guild_id         INTEGER NOT NULL,
    user_id          INTEGER NOT NULL,
    joined_at        INTEGER,
    left_at          INTEGER,
    first_message_at INTEGER,
    is_bot           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_joined ON members (guild_id, joined_at);

-- Every join and leave (a member may come back), for growth over any period.
CREATE TABLE member_events (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('join', 'leave')),
    at       INTEGER NOT NULL,
    PRIMARY KEY (guild_id, kind, at, user_id)
) WITHOUT ROWID;
CREATE INDEX member_events_user ON member_events (guild_id, user_id);

CREATE TABLE activity_threads (
    guild_id   INTEGER NOT NULL,
    thread_id  INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    owner_id   INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, thread_id)
) WITHOUT ROWID;

CREATE TABLE activity_optouts (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

-- Message text, only when a server opted in (keep_text_days > 0), purged at expires_at.
CREATE TABLE activity_text (
    guild_id   INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    author_id  INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, message_id)
) WITHOUT ROWID;
CREATE INDEX activity_text_expiry ON activity_text (expires_at);
CREATE INDEX activity_text_author ON activity_text (guild_id, author_id);

-- Roll-ups, kept up to date by the pipeline in the same transaction as the rows they count.
-- day = unix seconds // 86400 (UTC day number).
CREATE TABLE activity_daily_member (
    guild_id INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    blocks   INTEGER NOT NULL DEFAULT 0,   -- distinct 10-minute blocks with a message
    PRIMARY KEY (guild_id, day, user_id)
) WITHOUT ROWID;
CREATE INDEX activity_daily_member_user ON activity_daily_member (guild_id, user_id, day);

CREATE TABLE activity_daily_member_channel (
    guild_id   INTEGER NOT NULL,
    day        INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    messages   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, channel_id, user_id)
) WITHOUT ROWID;

CREATE TABLE activity_daily_channel (
    guild_id   INTEGER NOT NULL,
    day        INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    messages   INTEGER NOT NULL DEFAULT 0,
    negative   INTEGER NOT NULL DEFAULT 0,  -- compound <= -0.05
    positive   INTEGER NOT NULL DEFAULT 0,  -- compound >= 0.05
    PRIMARY KEY (guild_id, day, channel_id)
) WITHOUT ROWID;

CREATE TABLE activity_hourly (
    guild_id INTEGER NOT NULL,
    hour     INTEGER NOT NULL,              -- unix seconds // 3600, localised when read
    messages INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, hour)
) WITHOUT ROWID;

-- Who drew replies and reactions from whom, per day: reach is distinct sources over a period.
CREATE TABLE activity_daily_reach (
    guild_id  INTEGER NOT NULL,
    day       INTEGER NOT NULL,
    target_id INTEGER NOT NULL,
    source_id INTEGER NOT NULL,
    replies   INTEGER NOT NULL DEFAULT 0,
    reactions INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, target_id, source_id)
) WITHOUT ROWID;
CREATE INDEX activity_daily_reach_source ON activity_daily_reach (guild_id, source_id);
