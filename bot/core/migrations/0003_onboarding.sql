-- Reason: member onboarding: per-member funnel state, interest options and picks, welcome variants, rotations.

-- One row per member who joined while Hearth was present; joined_at is the latest join.
CREATE TABLE onboarding_members (
    guild_id                 INTEGER NOT NULL,
    user_id                  INTEGER NOT NULL,
    joined_at                INTEGER NOT NULL,
    screening                INTEGER NOT NULL DEFAULT 0, -- Discord's own screening was pending at join
    welcome_pending          INTEGER NOT NULL DEFAULT 0, -- held back for a batched welcome (raid)
    welcomed_at              INTEGER,
    accepted_at              INTEGER,
    interests_at             INTEGER,
    first_message_at         INTEGER,
    first_message_channel_id INTEGER,
    first_message_id         INTEGER,
    first_reply_at           INTEGER,
    week2_active_at          INTEGER,
    reminded_at              INTEGER,
    nudged_at                INTEGER,
    staff_pinged_at          INTEGER,
    nudge_opt_out            INTEGER NOT NULL DEFAULT 0,
    buddy_id                 INTEGER,
    -- 0 for members who were already here (a row made by clicking a button): kept out of the funnel.
    tracked                  INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX onboarding_members_joined ON onboarding_members (guild_id, joined_at);
CREATE INDEX onboarding_members_waiting ON onboarding_members (guild_id, first_reply_at, first_message_at);

-- The interests a server offers, each handing out one role.
CREATE TABLE onboarding_interests (
    id       INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    label    TEXT    NOT NULL,
    role_id  INTEGER NOT NULL,
    UNIQUE (guild_id, label)
);

CREATE TABLE onboarding_picks (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    interest_id INTEGER NOT NULL REFERENCES onboarding_interests (id) ON DELETE CASCADE,
    picked_at   INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id, interest_id)
);

-- Welcome variants written by managers, per language; with none, the catalog's defaults are used.
CREATE TABLE onboarding_templates (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    lang       TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX onboarding_templates_guild ON onboarding_templates (guild_id, lang);

-- Small per-server counters: the next welcome variant, the last buddy assigned.
CREATE TABLE onboarding_rotation (
    guild_id INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (guild_id, name)
);

-- When each welcome volunteer was last seen talking (to skip those away for days).
CREATE TABLE onboarding_volunteers_seen (
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
