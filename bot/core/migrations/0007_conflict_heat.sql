-- Reason: a restart must not forget that a conversation was just flagged (cooldown, escalation baseline).

-- One row per conversation (channel, or thread) flagged recently: ids, times and heat only, no text.
-- Written in the same transaction as the flag it records; rows past the cooldown are pruned at start.
CREATE TABLE conflict_heat (
    guild_id        INTEGER NOT NULL,
    conversation_id INTEGER NOT NULL,          -- the thread id, or the channel id
    flagged_at      INTEGER NOT NULL,          -- when it was flagged or last escalated
    flagged_heat    REAL    NOT NULL,          -- the heat it was flagged (or escalated) at
    flag_id         INTEGER REFERENCES conflict_flags(id) ON DELETE SET NULL,
    PRIMARY KEY (guild_id, conversation_id)
);
